#!/usr/bin/env python3
"""Independent wire oracle for the TrekMail MCP tools.

Derives, from the reference facts alone (trekmail-api-v1.tools.jsonl and its README),
golden test cases of the exact HTTP request every MCP tool must send: method, path
(path values percent-encoded), sorted query pairs, JSON body, extra headers and the
expected Idempotency-Key. It does not look at the Rust implementation; the Rust tests
compare themselves against the generated file.

Rerun (python3 stdlib only, deterministic) from the repository root:

    python3 tests/oracle/make_wire_cases.py [FACTS_JSONL ...]

FACTS_JSONL defaults to ../shared/reference/trekmail-api-v1.tools.jsonl and
../shared/reference/trekmail-api-v1-latest.tools.jsonl (the 143 tools of the product
description and the 129 operations added since; CI passes the copies in tests/fixtures/). The output is
written to tests/fixtures/wire-cases.json (a JSON array of case objects). The script
self-checks its output (argument names and bounds, required arguments, two cases or
more per tool, hand-written expectations for the special wire cases) and exits non-zero
on any mismatch.
"""

# ---------------------------------------------------------------------------------------
# Interpretations (places where the facts are silent, ambiguous or self-contradictory)
# ---------------------------------------------------------------------------------------
# I1  Idempotency hash input = the tool arguments exactly as the agent passed them
#     (flat argument names such as body_text/seen, no defaults filled in, no fixed
#     values such as password_mode, no confirmation/tool_only args, no idempotency_key).
#     The README says "the tool's arguments ... absent arguments left out", so a default
#     the tool applies on the wire (can_receive, keep_copy, days=30 ...) is NOT hashed,
#     and an explicitly passed empty value (cc=[]) IS hashed.
# I2  "idempotency_key" in a case: null for GET; "windowed" whenever window_s is set (even
#     if secret_args is non-empty too); "secret" for window_s null + secret_args; else
#     the exact key. Read-only tools that use POST (test_migration_connection,
#     validate_cloudflare_token, list_cloudflare_zones, preview_*) still get a key:
#     "Idempotency-Key on every non-GET request".
# I3  "minimal" = required arguments + confirmation argument, plus the smallest extra
#     needed to pass the tool's `checks`: send_message gets body_text (one body part
#     must be non-empty), update_message_flags gets seen (one flag required),
#     update_domain_catch_all uses enabled=false (enabled=true needs destination).
#     set_forwarding / set_auto_reply minimal use enabled=false (the server rule needs
#     targets / subject+body when enabling). "Only required" applies to the top-level
#     tool arguments; objects inside arrays keep realistic optional members where the
#     server needs them (rule condition/action values, a password for bulk-created
#     mailboxes in user_supplied mode).
# I4  Body fields whose facts say "sent only when non-empty / has keys" (send_message
#     cc, bcc, attachments, reply_to_message_id, headers; draft/schedule subject;
#     schedule timezone) are dropped when "", [] or {}. "Sent only when truthy"
#     (mail_hosting, verify mode/name, external_account_id, identity_id) drops "", 0,
#     false; integer ids have min 1, so a valid id is always sent. Fields described
#     "sent whenever provided" (draft/schedule to/cc/bcc/attachments) are sent even
#     when empty ([]).
# I5  Default-applied body fields are filled when absent: create_alias can_receive=true,
#     can_send=false (no default in the facts, "always sent" -> false per the brief);
#     set_forwarding keep_copy=true; create_mail_rule match_type="all", stop=false
#     (brief), enabled=true; update_mail_rule match_type="all" only (its stop/enabled
#     are "omitted if not given"); set_auto_reply skip_lists=true. Query defaults are
#     filled likewise: get_spam_metrics/get_spam_summary days=30,
#     verify_job_download filter=all.
# I6  Message bodies: send_message always sends body {"text","html"}, a part not given
#     is JSON null. save_draft/update_draft/schedule_message send `body` only when
#     body_text or body_html is a non-empty string; the missing part is null. A case
#     with one part "" and the other non-empty is ambiguous ("" or null?) and is not
#     generated.
# I7  An explicit null is sent as null only for nullable fields (note, and
#     connect_cloudflare_domains selected[].trekmail_domain_id -- README rule "an
#     explicit null is sent as null where the field is nullable", although its
#     api_notes only mention the omitted case). Null for a non-nullable optional field
#     would be treated as absent (api_notes: "undefined/null args are omitted"); no
#     case relies on that.
# I8  delete_identity: api_notes mention an optional external_account_id sent as a JSON
#     body on the DELETE and a random UUID key, but the structured facts have no such
#     argument, body null and window_s 300. The structured fields win: no body, no
#     such argument, key "windowed".
# I9  Path segments: encoded as the brief says (every byte except ASCII letters, digits
#     and -._~!$&'()*+,;=:@ as %XX, uppercase hex, UTF-8). The facts for the folder
#     tools say "encodeURIComponent", which additionally encodes $&+,;=:@ . No case
#     uses those characters, so the goldens hold under either reading; the choice is
#     left to the implementation's own tests. Literal colons of the path template
#     (/mailboxes/{id}:pause, /smtp:test) are kept.
# I10 Query pairs hold raw (decoded) values, sorted by name; booleans "true"/"false",
#     integers as digits. How the pairs are percent-encoded on the URL is not pinned.
# I11 Body key order is not significant (JSON objects); bodies are emitted in facts
#     order, send_message in the order its api_notes give (to, subject, body, ...).
# I12 Date-like strings: args with format "date" use 2026-12-01 (set_auto_reply start
#     and end -> a one-day window). Strings that are dates only by description
#     (birthday, import_since, since, calendar start/end) get plausible values.
# I13 Integer path values must be positive, except download_attachment index which is
#     zero-based (>= 0); the minimal case uses index 0.
# I14 Tools with no arguments still get a "minimal" and a "full" case; both are {}.
# I15 A CSV text body field whose description names a password column (bulk migration
#     `data`: source_email,source_password,...) holds secrets: the README says secret
#     values in CSV rows enter the key only as a keyed digest, so its key is "secret".
# I16 The latest facts (129 operations): a tool_only `idempotency_key` is the caller's key
#     (never in a case); a tool_only `credential` goes out as the `Payment-Authorization`
#     header when given (api_notes), and is a secret. A field "required" with a default, or
#     "required", nullable and "always sent, null when absent", is sent with that value when
#     absent. A query `fixed_value` is always sent. "Sent only as true" drops false.
# I17 drive_file_upload (gate upload_dir) reads a file of the MCP host: with
#     TREKMAIL_UPLOAD_DIR unset it sends nothing, so its cases expect no request
#     ("request": null) and a refusal naming TREKMAIL_UPLOAD_DIR.
# I18 Values for the 129 are synthesised from each field's type and bounds (SYNTH below),
#     with hand-picked values where a field's meaning matters (hosts, addresses, dates).
# I19 A pattern the facts qualify with "(case-insensitive)" is matched ignoring case.
# I20 A check of the facts "Choose exactly one of a, b or c" (selectors) refuses a call that
#     gives none or several (a boolean counts only when true, as only then is it sent); the
#     full case of such a tool gives every argument but the selectors it does not choose.
# ---------------------------------------------------------------------------------------

import base64
import datetime
import hashlib
import json
import os
import re
import sys

DEFAULT_FACTS = ["../shared/reference/trekmail-api-v1.tools.jsonl",
                 "../shared/reference/trekmail-api-v1-latest.tools.jsonl"]
OUTPUT = os.path.join("tests", "fixtures", "wire-cases.json")
EXPECTED_TOOL_COUNT = 272

MISSING = object()

# ------------------------------------------------------------------ encoding helpers

_SEGMENT_SAFE = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@"
)


def encode_segment(value):
    """Percent-encode one path segment (UTF-8, uppercase hex)."""
    out = []
    for byte in str(value).encode("utf-8"):
        out.append(chr(byte) if byte in _SEGMENT_SAFE else "%%%02X" % byte)
    return "".join(out)


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def csv_with_passwords(rec):
    """I15: a CSV text field with a password column."""
    fields = (rec["body"] or {}).get("fields") or []
    return any(f["type"] == "string" and "CSV" in f.get("description", "")
               and "password" in f.get("description", "") for f in fields)


def idempotency_key(tool, hashed_args):
    digest = hashlib.sha256((tool + ":" + canonical_json(hashed_args)).encode("utf-8"))
    return "mcp_%s_%s" % (tool, digest.hexdigest()[:32])


def query_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    raise TypeError("unsupported query value %r" % (value,))


def b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


# ------------------------------------------------------------------ wire policies (I4-I6)

# (tool, wire field) -> dropped when "", [] or {}
NONEMPTY = {
    ("send_message", "cc"), ("send_message", "bcc"), ("send_message", "attachments"),
    ("send_message", "reply_to_message_id"), ("send_message", "headers"),
    ("save_draft", "subject"), ("update_draft", "subject"),
    ("schedule_message", "subject"), ("schedule_message", "timezone"),
}
# (tool, wire field) -> dropped when falsy
TRUTHY = {
    ("create_domain", "mail_hosting"),
    ("verify_email", "mode"), ("verify_email_bulk", "name"), ("verify_email_bulk", "mode"),
    ("send_message", "external_account_id"), ("send_message", "identity_id"),
    ("save_draft", "external_account_id"), ("save_draft", "identity_id"),
    ("update_draft", "external_account_id"), ("update_draft", "identity_id"),
    ("schedule_message", "external_account_id"), ("schedule_message", "identity_id"),
}
# (tool, wire field) -> only ever sent as false
FALSE_ONLY = {("send_message", "apply_default_recipients")}
# (tool, wire field) -> only ever sent as true (I16)
TRUE_ONLY = {("set_mailboxes_drive_access", "all"), ("set_mailboxes_login_access", "all"),
             ("set_domain_mail_hosting", "confirm_mailboxes_stop_receiving")}
NONEMPTY |= {("reschedule_message", "timezone"), ("drive_folder_create", "color"),
             ("drive_upload_initiate", "client_mime")}
TRUTHY |= {("reschedule_message", "shared_mailbox_id")}
# (tool, wire field) -> value sent when the argument is absent
DEFAULT_SENT = {
    ("create_alias", "can_receive"): True,
    ("create_alias", "can_send"): False,          # brief: no default in facts -> false
    ("set_forwarding", "keep_copy"): True,
    ("create_mail_rule", "match_type"): "all",
    ("create_mail_rule", "stop"): False,          # brief: "default sent" -> false
    ("create_mail_rule", "enabled"): True,
    ("update_mail_rule", "match_type"): "all",
    ("set_auto_reply", "skip_lists"): True,
    # I16: the latest facts' defaults and "always sent, null when absent"
    ("drive_bulk_trash", "file_ids"): [], ("drive_bulk_trash", "folder_ids"): [],
    ("drive_bulk_restore", "file_ids"): [], ("drive_bulk_restore", "folder_ids"): [],
    ("drive_bulk_move", "file_ids"): [], ("drive_bulk_move", "folder_ids"): [],
    ("drive_bulk_purge", "file_ids"): [], ("drive_bulk_purge", "folder_ids"): [],
    ("create_forwarding_address", "is_active"): True,
    ("test_domain_smtp", "mode"): "custom",
    ("drive_folder_create", "parent_id"): None,
    ("drive_upload_initiate", "folder_id"): None,
    ("drive_device_create", "mailbox_id"): None,
    ("drive_device_create", "expires_in_days"): None,
    ("drive_device_rotate", "expires_in_days"): None,
}
# flattened object fields (properties carry their own tool `arg`)
FLATTENED = {
    ("send_message", "body"): "parts_always",
    ("save_draft", "body"): "parts_when_any",
    ("update_draft", "body"): "parts_when_any",
    ("schedule_message", "body"): "parts_when_any",
    ("update_message_flags", "flags"): "given_only",
}
WIRE_KEY_ORDER = {"send_message": ["to", "subject", "body"]}

# Extra (non-required) args a minimal case may carry to pass the tool's checks (I3).
MINIMAL_CHECK_EXTRA = {"send_message": {"body_text"}, "update_message_flags": {"seen"},
                       "update_forwarding_address": {"is_active"}, "update_white_label_member": {"note"},
                       "update_message_token": {"name"}, "set_mailboxes_drive_access": {"all"},
                       "set_mailboxes_login_access": {"all"}}


# ------------------------------------------------------------------ facts model

def is_flattened(field):
    props = field.get("properties") or []
    return field.get("type") == "object" and any("arg" in p for p in props)


def arg_specs(rec):
    """Map tool argument name -> (spec, location, required)."""
    specs = {}

    def add(name, spec, loc, required):
        if name in specs:
            raise SystemExit("%s: argument %s defined twice" % (rec["tool"], name))
        specs[name] = (spec, loc, required)

    for p in rec["path_params"]:
        add(p.get("arg", p["name"]), p, "path", True)
    for q in rec["query"]:
        if "fixed_value" in q:
            continue  # always sent by the tool, not an argument (I16)
        add(q.get("arg", q["name"]), q, "query", bool(q.get("required")))
    if rec["body"] is not None:
        for f in rec["body"]["fields"]:
            if "fixed_value" in f:
                continue  # always sent by the tool, not an argument
            if is_flattened(f):
                for p in f["properties"]:
                    add(p.get("arg", p["name"]), p, "body_part", bool(p.get("required")))
            else:
                add(f.get("arg", f["name"]), f, "body", bool(f.get("required")))
    for t in rec["tool_only_args"]:
        if t["name"] == "idempotency_key":
            continue  # I16: the caller's key, never part of a case
        add(t["name"], t, "tool_only", bool(t.get("required")))
    if rec["confirm_arg"] and rec["confirm_arg"] not in specs:
        raise SystemExit("%s: confirm_arg not among tool_only_args" % rec["tool"])
    return specs


def excluded_from_hash(rec):
    names = {t["name"] for t in rec["tool_only_args"]}
    if rec["confirm_arg"]:
        names.add(rec["confirm_arg"])
    names.add("idempotency_key")
    return names


# ------------------------------------------------------------------ request builder

def _is_empty(v):
    return v == "" or v == [] or v == {}


def build_body(rec, args):
    tool = rec["tool"]
    body = {}
    for f in rec["body"]["fields"]:
        name = f["name"]
        if "fixed_value" in f:
            body[name] = f["fixed_value"]
            continue
        if is_flattened(f):
            policy = FLATTENED[(tool, name)]
            parts = [(p["name"], args.get(p.get("arg", p["name"]), MISSING)) for p in f["properties"]]
            if policy == "given_only":
                body[name] = {k: v for k, v in parts if v is not MISSING}
            else:
                filled = {k: (None if v is MISSING else v) for k, v in parts}
                any_text = any(isinstance(v, str) and v != "" for v in filled.values())
                if policy == "parts_always" or any_text:
                    body[name] = filled
            continue
        key = (tool, name)
        arg = f.get("arg", name)
        if arg not in args:
            if key in DEFAULT_SENT:
                body[name] = DEFAULT_SENT[key]
            continue
        v = args[arg]
        if v is None and not f.get("nullable"):
            continue
        if key in NONEMPTY and _is_empty(v):
            continue
        if key in TRUTHY and not v:
            continue
        if key in FALSE_ONLY and v is not False:
            continue
        if key in TRUE_ONLY and v is not True:
            continue
        body[name] = v
    order = WIRE_KEY_ORDER.get(tool)
    if order:
        head = [k for k in order if k in body]
        body = {k: body[k] for k in head + [k for k in body if k not in head]}
    return body


def build_request(rec, args):
    if rec.get("gate") == "upload_dir":
        return None  # I17: nothing is sent
    def sub(m):
        name = m.group(1)
        spec = next(p for p in rec["path_params"] if p["name"] == name)
        value = args[spec.get("arg", name)]
        if spec["type"] == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise SystemExit("%s: path value %s must be an integer" % (rec["tool"], name))
            return str(value)
        return encode_segment(value)

    path = "/api/v1" + re.sub(r"\{([A-Za-z0-9_]+)\}", sub, rec["path"])

    query = []
    for q in rec["query"]:
        if "fixed_value" in q:
            query.append([q["name"], query_value(q["fixed_value"])])
            continue
        arg = q.get("arg", q["name"])
        v = args.get(arg)
        if v is None:
            if "default" not in q:
                continue
            v = q["default"]
        query.append([q["name"], query_value(v)])
    query.sort(key=lambda pair: pair[0])

    body = None if rec["body"] is None else build_body(rec, args)
    headers = {k.lower(): v for k, v in sorted(rec["extra_headers"].items())}
    if "credential" in args:  # I16
        headers["payment-authorization"] = args["credential"]

    idem = rec["idempotency"]
    if rec["method"] == "GET":
        key = None
    elif idem["window_s"] is not None:
        key = "windowed"
    elif idem["secret_args"] or csv_with_passwords(rec):
        key = "secret"
    else:
        drop = excluded_from_hash(rec)
        key = idempotency_key(rec["tool"], {k: v for k, v in args.items() if k not in drop})
    return {"method": rec["method"], "path": path, "query": query, "body": body,
            "headers": headers, "idempotency_key": key}


# ------------------------------------------------------------------ argument validation

EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Invalid(Exception):
    pass


def _check_scalar_type(typ, v, where):
    ok = {
        "string": isinstance(v, str),
        "integer": isinstance(v, int) and not isinstance(v, bool),
        "boolean": isinstance(v, bool),
        "array": isinstance(v, list),
        "object": isinstance(v, dict),
    }.get(typ)
    if ok is None:
        raise Invalid("%s: unknown type %s" % (where, typ))
    if not ok:
        raise Invalid("%s: %r is not %s" % (where, v, typ))


def _check_string(spec, v, where):
    if "min_length" in spec and len(v) < spec["min_length"]:
        raise Invalid("%s: shorter than %d" % (where, spec["min_length"]))
    if "max_length" in spec and len(v) > spec["max_length"]:
        raise Invalid("%s: longer than %d" % (where, spec["max_length"]))
    pattern = spec.get("pattern", "")
    flags = re.I if pattern.endswith(" (case-insensitive)") else 0  # I19
    if pattern and not re.search(pattern.replace(" (case-insensitive)", ""), v, flags):
        raise Invalid("%s: %r does not match pattern" % (where, v))
    fmt = spec.get("format")
    if fmt == "email" and not EMAIL_RE.match(v):
        raise Invalid("%s: %r is not an email" % (where, v))
    if fmt == "date":
        if not DATE_RE.match(v):
            raise Invalid("%s: %r is not YYYY-MM-DD" % (where, v))
        try:
            datetime.date.fromisoformat(v)
        except ValueError:
            raise Invalid("%s: %r is not a calendar date" % (where, v))
    if "enum" in spec and v not in spec["enum"]:
        raise Invalid("%s: %r not in enum" % (where, v))


def _check_number(spec, v, where):
    if "min" in spec and v < spec["min"]:
        raise Invalid("%s: %d < min %d" % (where, v, spec["min"]))
    if "max" in spec and v > spec["max"]:
        raise Invalid("%s: %d > max %d" % (where, v, spec["max"]))
    if "enum" in spec and v not in spec["enum"]:
        raise Invalid("%s: %r not in enum" % (where, v))


def _check_object_props(props, v, where):
    known = {p["name"]: p for p in props}
    for k in v:
        if k not in known:
            raise Invalid("%s: unknown member %s" % (where, k))
    for p in props:
        if p.get("required") and p["name"] not in v:
            raise Invalid("%s: missing member %s" % (where, p["name"]))
        if p["name"] in v:
            validate_value(p, v[p["name"]], "%s.%s" % (where, p["name"]))


def _check_additional(addl, v, where):
    for k, item in v.items():
        if not isinstance(k, str) or not k:
            raise Invalid("%s: bad key %r" % (where, k))
        validate_value(addl, item, "%s[%s]" % (where, k))


def validate_value(spec, v, where):
    if v is None:
        if spec.get("nullable"):
            return
        raise Invalid("%s: null for non-nullable" % where)
    typ = spec.get("type")
    _check_scalar_type(typ, v, where)
    if typ == "string":
        _check_string(spec, v, where)
    elif typ == "integer":
        _check_number(spec, v, where)
    elif typ == "array":
        if "min_items" in spec and len(v) < spec["min_items"]:
            raise Invalid("%s: fewer than %d items" % (where, spec["min_items"]))
        if "max_items" in spec and len(v) > spec["max_items"]:
            raise Invalid("%s: more than %d items" % (where, spec["max_items"]))
        items = spec.get("items")
        for i, item in enumerate(v):
            w = "%s[%d]" % (where, i)
            if isinstance(items, dict):
                validate_value(items, item, w)
                if items.get("properties"):
                    _check_object_props(items["properties"], item, w)
            else:
                # array-level bounds apply to each scalar item (enum, format, min, max_length)
                item_spec = {"type": items}
                for k in ("enum", "format", "pattern", "min", "max", "min_length", "max_length"):
                    if k in spec:
                        item_spec[k] = spec[k]
                validate_value(item_spec, item, w)
    elif typ == "object":
        if spec.get("properties"):
            _check_object_props(spec["properties"], v, where)
        if spec.get("additional_properties"):
            _check_additional(spec["additional_properties"], v, where)


def validate_path_value(spec, v, where):
    if spec["type"] == "integer":
        _check_scalar_type("integer", v, where)
        lowest = 0 if "zero-based" in spec.get("description", "").lower() else 1  # I13
        if v < lowest:
            raise Invalid("%s: %d below %d" % (where, v, lowest))
    else:
        _check_scalar_type("string", v, where)
        if not 1 <= len(v) <= 255:
            raise Invalid("%s: path string must be 1..255 chars" % where)


PRIVATE_HOST_RE = re.compile(
    r"^(localhost|.*\.localhost|localhost\.localdomain|metadata(\..*)?|metadata\.google\.internal"
    r"|instance-data|100-100-100-200\.aliyuncs\.com)$")


def looks_private(host):
    h = host.strip().lower().strip("[]")
    if PRIVATE_HOST_RE.match(h) or ":" in h:
        return True
    # any IP-literal-looking host is refused here (the oracle only uses public names)
    return bool(re.match(r"^(0x[0-9a-f]+|[0-9.]+)$", h))


def exactly_one_of(rec):
    """The selectors of a facts check "Choose exactly one of a, b or c" (I20), or None."""
    for c in rec.get("checks") or []:
        m = re.search(r"Choose exactly one of ([a-z_, ]+?) or ([a-z_]+)\.", c)
        if m:
            return [n.strip() for n in m.group(1).split(",")] + [m.group(2)]
    return None


def run_checks(rec, args):
    tool = rec["tool"]
    selectors = exactly_one_of(rec)
    if selectors is not None:
        given = [n for n in selectors if args.get(n) not in (None, False)]
        if len(given) != 1:
            raise Invalid("exactly one of %s, got %s" % (selectors, given))
    if rec["confirm_arg"] and args.get(rec["confirm_arg"]) is not True:
        raise Invalid("confirmation argument must be true")
    if tool == "update_domain_catch_all" and args.get("enabled") and not args.get("destination"):
        raise Invalid("destination is required when enabled=true")
    if tool == "send_message":
        if not any(isinstance(args.get(k), str) and args[k] for k in ("body_text", "body_html")):
            raise Invalid("at least one of body_text/body_html must be non-empty")
        if sum(len(args.get(k) or []) for k in ("to", "cc", "bcc")) > 10:
            raise Invalid("more than 10 recipients")
    if tool == "update_message_flags" and "seen" not in args and "flagged" not in args:
        raise Invalid("at least one of seen/flagged")
    for k in ("host", "source_host", "imap_host", "smtp_host"):
        if isinstance(args.get(k), str) and args[k] and looks_private(args[k]):
            raise Invalid("private host %s" % args[k])


def validate_args(rec, args):
    specs = arg_specs(rec)
    if "idempotency_key" in args:
        raise Invalid("cases never pass idempotency_key")
    for name in args:
        if name not in specs:
            raise Invalid("unknown argument %s" % name)
    for name, (spec, loc, required) in specs.items():
        if required and name not in args:
            raise Invalid("missing required argument %s" % name)
        if name not in args:
            continue
        if loc == "path":
            validate_path_value(spec, args[name], name)
        else:
            validate_value(spec, args[name], name)
    run_checks(rec, args)


# ------------------------------------------------------------------ realistic values

ATTACHMENT = {"filename": "report.txt", "content_type": "text/plain",
              "content_base64": b64("Quarterly numbers attached.\n")}
CONTACTS_CSV = b64("name,email\nJane Doe,jane@example.com\nJohn Smith,john@example.org\n")
SIEVE = ('require ["fileinto"];\n'
         'if header :contains "subject" "invoice" {\n  fileinto "Invoices";\n}\n')
MIGRATION_CSV = ("jane@oldmail.example.net,app-pass-jane-1,jane@example.com\n"
                 "john@oldmail.example.net,app-pass-john-2,john@example.com\n")
MIGRATION_CSV_PER_ROW = ("jane@oldmail.example.net,app-pass-jane-1,jane@example.com,"
                         "imap.example.net,993,ssl\n")
CF_TOKEN = "cf_Y3k8s2mT0kenExample4Dns9Edit"
RULE_CONDITIONS = [
    {"field": "from", "operator": "contains", "value": "newsletter@example.com"},
    {"field": "header", "operator": "is", "value": "bulk", "header_name": "Precedence"},
]
RULE_ACTIONS = [{"type": "fileinto", "value": "Newsletters"}, {"type": "addflag", "value": "\\Seen"}]
MIN_RULE = {"conditions": [{"field": "subject", "operator": "contains", "value": "invoice"}],
            "actions": [{"type": "fileinto", "value": "Invoices"}]}
MIGRATION_SOURCE = {"source_host": "imap.example.com", "source_port": 993, "source_security": "ssl",
                    "source_email": "jane@example.net"}

# Every tool: every argument it accepts (confirmation args = true).
FULL = {
    # Domains / DNS
    "list_domains": {"status": "active", "search": "example", "page": 2, "per_page": 50},
    "get_domain": {"domain_id": 42},
    "create_domain": {"name": "example.com", "mail_hosting": "external"},
    "delete_domain": {"domain_id": 42, "confirm_delete": True},
    "update_domain_catch_all": {"domain_id": 42, "enabled": True, "destination": "postmaster@example.com"},
    "retry_domain_dkim": {"domain_id": 42},
    "update_domain_note": {"domain_id": 42, "note": "Main brand domain; DNS managed by Jane."},
    "bulk_add_domains": {"domains": ["example.com", "example.org", "example.net"]},
    "get_dns_requirements": {"domain_id": 42},
    "dns_recheck": {"domain_id": 42},
    "get_dns_check": {"check_id": 88},
    # Mailboxes / invites
    "list_mailboxes": {"domain_id": 42, "search": "jane", "page": 1, "per_page": 25},
    "get_mailbox": {"mailbox_id": 7},
    "create_mailbox_generated_password": {"domain_id": 42, "local_part": "jane.doe", "display_name": "Jane Doe",
                                          "storage_allocation_mb": 2048, "client_auth_mode": "app_password_only"},
    "change_mailbox_password": {"mailbox_id": 7, "password": "Corr3ct-Horse-Battery"},
    "update_mailbox_note": {"mailbox_id": 7, "note": "Shared support inbox"},
    "pause_mailbox": {"mailbox_id": 7},
    "resume_mailbox": {"mailbox_id": 7},
    "enable_imap": {"mailbox_id": 7, "password": "Corr3ct-Horse-Battery"},
    "bulk_create_mailboxes": {"items": [
        {"domain_id": 42, "local_part": "jane.doe", "password": "Corr3ct-Horse-Battery", "storage_allocation_mb": 1024},
        {"domain_id": 42, "local_part": "john_smith", "password": "Tr0ub4dor-and-3x", "storage_allocation_mb": 512},
    ], "password_mode": "user_supplied"},
    "create_invite": {"domain_id": 42, "local_part": "bob", "recipient_email": "bob@example.org",
                      "expires_in_hours": 48, "storage_allocation_mb": 1024},
    "create_invites_bulk": {"domain_id": 42, "items": [
        {"local_part": "alice", "recipient_email": "alice@example.org", "domain_id": 43, "storage_allocation_mb": 512},
        {"local_part": "bob", "recipient_email": "bob@example.org"},
    ], "expires_in_hours": 72},
    # Aliases / forwarding / rules / auto-reply / sieve / delete intents
    "list_aliases": {"mailbox_id": 7},
    "create_alias": {"mailbox_id": 7, "local_part": "sales", "domain_id": 42, "can_receive": True, "can_send": True},
    "update_alias": {"mailbox_id": 7, "alias_id": 3, "can_receive": True, "can_send": False, "is_active": False},
    "delete_alias": {"mailbox_id": 7, "alias_id": 3},
    "get_forwarding": {"mailbox_id": 7},
    "set_forwarding": {"mailbox_id": 7, "enabled": True, "targets": ["jane@example.org", "backup@example.net"],
                       "keep_copy": False},
    "list_mail_rules": {"mailbox_id": 7},
    "get_mail_rule": {"mailbox_id": 7, "rule_id": 11},
    "create_mail_rule": {"mailbox_id": 7, "name": "Newsletters", "match_type": "any", "conditions": RULE_CONDITIONS,
                         "actions": RULE_ACTIONS, "stop": True, "enabled": False},
    "update_mail_rule": {"mailbox_id": 7, "rule_id": 11, "name": "Newsletters", "match_type": "any",
                         "conditions": RULE_CONDITIONS, "actions": RULE_ACTIONS, "stop": True, "enabled": False},
    "delete_mail_rule": {"mailbox_id": 7, "rule_id": 11},
    "reorder_mail_rules": {"mailbox_id": 7, "order": [12, 11, 13]},
    "get_auto_reply": {"mailbox_id": 7},
    "set_auto_reply": {"mailbox_id": 7, "enabled": True, "subject": "Out of office",
                       "body": "I am away today and will reply when I am back.",
                       "start_date": "2026-12-01", "end_date": "2026-12-01", "skip_lists": False},
    "get_sieve_script": {"mailbox_id": 7},
    "upload_sieve_script": {"mailbox_id": 7, "script": SIEVE},
    "create_delete_intent": {"mailbox_id": 7},
    "confirm_delete_intent": {"intent_id": 9, "confirm": True},
    # Messages
    "list_messages": {"folder": "INBOX", "limit": 25, "before_uid": 1200, "since": "2026-11-01",
                      "unread_only": True, "search": "invoice", "external_account_id": 5},
    "read_message": {"uid": 1234, "folder": "INBOX", "external_account_id": 5},
    "send_message": {"to": ["jane@example.com", "john@example.org"], "cc": ["team@example.com"],
                     "bcc": ["audit@example.com"], "subject": "Quarterly report",
                     "body_text": "Hi Jane,\nthe report is attached.\n", "body_html": "<p>Hi Jane,</p><p>the report is attached.</p>",
                     "attachments": [ATTACHMENT], "reply_to_message_id": "<CAF1234abcd@mail.example.com>",
                     "headers": {"Reply-To": "support@example.com", "X-Campaign-Id": "q4-2026"},
                     "external_account_id": 5, "identity_id": 3, "apply_default_recipients": False,
                     "confirm_send": True},
    "delete_message": {"uid": 1234, "folder": "Trash", "external_account_id": 5},
    "move_message": {"uid": 1234, "folder": "INBOX", "destination": "Archive/2024", "external_account_id": 5},
    "list_folders": {"external_account_id": 5},
    "update_message_flags": {"uid": 1234, "seen": False, "flagged": True, "folder": "INBOX", "external_account_id": 5},
    "download_attachment": {"uid": 1234, "index": 2, "folder": "INBOX", "external_account_id": 5},
    "download_all_attachments": {"uid": 1234, "folder": "INBOX", "external_account_id": 5},
    "get_raw_message": {"uid": 1234, "folder": "INBOX", "external_account_id": 5},
    "save_draft": {"to": ["jane@example.com"], "cc": ["john@example.org"], "bcc": ["audit@example.com"],
                   "subject": "Draft: Q4 plan", "body_text": "Outline for Q4.", "body_html": "<p>Outline for Q4.</p>",
                   "attachments": [ATTACHMENT], "external_account_id": 5, "identity_id": 3},
    "update_draft": {"uid": 2001, "to": ["jane@example.com"], "cc": ["john@example.org"], "bcc": ["audit@example.com"],
                     "subject": "Draft: Q4 plan v2", "body_text": "Outline for Q4, v2.",
                     "body_html": "<p>Outline for Q4, v2.</p>", "attachments": [ATTACHMENT],
                     "external_account_id": 5, "identity_id": 3},
    "report_spam": {"uid": 1234, "folder": "INBOX"},
    "report_ham": {"uid": 1234, "folder": "Junk"},
    "bulk_action": {"folder": "INBOX", "uids": [101, 102, 103], "action": "move", "destination": "Archive",
                    "external_account_id": 5},
    "create_folder": {"name": "Receipts", "parent": "Archive"},
    "rename_folder": {"path": "Projects", "name": "Projects 2026"},
    "delete_folder": {"path": "Old Projects"},
    "empty_folder": {"folder": "Trash"},
    "schedule_message": {"to": ["jane@example.com"], "scheduled_for": "2026-12-01T09:00:00",
                         "timezone": "Europe/Berlin", "cc": ["john@example.org"], "bcc": ["audit@example.com"],
                         "subject": "Reminder: quarterly review", "body_text": "See you at 10.",
                         "body_html": "<p>See you at 10.</p>", "external_account_id": 5, "identity_id": 3,
                         "confirm_send": True},
    "list_scheduled": {"cursor": "eyJpZCI6MTAwfQ", "per_page": 20},
    "cancel_scheduled": {"id": 55},
    "list_contacts": {"q": "jane", "per_page": 20, "page": 2},
    "create_contact": {"email": "jane@example.com", "name": "Jane Doe", "company": "Example Corp",
                       "job_title": "CTO", "phone": "+1 555 0100", "address": "1 Example Street, Springfield",
                       "birthday": "1990-05-17", "notes": "Met at ExampleConf 2026."},
    "update_contact": {"id": 21, "email": "jane.doe@example.com", "name": "Jane Doe", "company": "Example Corp",
                       "job_title": "CEO", "phone": "+1 555 0101", "address": "2 Example Street, Springfield",
                       "birthday": "1990-05-17", "notes": "Promoted."},
    "delete_contact": {"id": 21},
    "import_contacts": {"content_base64": CONTACTS_CSV, "format": "csv"},
    "export_contacts": {"format": "vcard"},
    "list_contact_groups": {},
    "create_contact_group": {"group_name": "Customers"},
    "update_contact_group": {"id": 4, "group_name": "Key customers"},
    "delete_contact_group": {"id": 4},
    "add_contact_group_members": {"id": 4, "contact_ids": [21, 22]},
    "remove_contact_group_members": {"id": 4, "contact_ids": [22]},
    "list_calendar_events": {"start": "2026-12-01", "end": "2026-12-31", "per_page": 50, "cursor": "eyJwIjoyfQ"},
    "create_calendar_event": {"title": "Quarterly review", "description": "Q4 numbers", "start_at": "2026-12-01T10:00:00",
                              "end_at": "2026-12-01T11:00:00", "all_day": False, "location": "Room 4",
                              "color": "#6366f1", "reminder_minutes": 15, "timezone": "Europe/Berlin"},
    "update_calendar_event": {"id": 31, "title": "Quarterly review (moved)", "description": "Q4 numbers, final",
                              "start_at": "2026-12-02T10:00:00", "end_at": "2026-12-02T11:30:00", "all_day": False,
                              "location": "Room 5", "color": "#22c55e", "reminder_minutes": 30,
                              "timezone": "Europe/Berlin"},
    "delete_calendar_event": {"id": 31},
    "prepare_reply": {"uid": 1234, "folder": "INBOX"},
    "prepare_reply_all": {"uid": 1234, "folder": "INBOX"},
    "prepare_forward": {"uid": 1234, "folder": "INBOX"},
    "list_identities": {},
    "create_identity": {"email": "jane@example.com", "name": "Jane Doe", "reply_to": "support@example.com",
                        "signature_html": "<p>Jane Doe<br>Example Corp</p>", "signature_enabled": True},
    "update_identity": {"id": 3, "name": "Jane D.", "reply_to": "help@example.com",
                        "signature_html": "<p>Jane D.</p>", "signature_enabled": False, "is_default": True},
    "delete_identity": {"id": 3},
    "list_templates": {},
    "create_template": {"name": "Welcome", "subject": "Welcome to Example", "body_html": "<h1>Welcome!</h1>"},
    "update_template": {"id": 8, "name": "Welcome v2", "subject": "Welcome aboard", "body_html": "<h1>Welcome aboard!</h1>"},
    "delete_template": {"id": 8},
    "list_blocked_senders": {},
    "block_sender": {"email_or_domain": "spammer@example.net"},
    "unblock_sender": {"id": 14},
    # SMTP / tickets / account
    "get_smtp_config": {},
    "update_smtp_config": {"mode": "custom", "host": "smtp.example.com", "port": 587, "encryption": "tls",
                           "username": "mailer@example.com", "password": "smtp-Secret-2026"},
    "delete_smtp_connection": {"connection_id": 6},
    "test_smtp": {"host": "smtp.example.com", "port": 465, "encryption": "ssl", "username": "mailer@example.com",
                  "password": "smtp-Secret-2026"},
    "get_smtp_test_status": {"job_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7"},
    "list_tickets": {"status": "open", "category": "technical", "page": 1, "per_page": 10},
    "get_ticket": {"ticket_id": 501},
    "get_ticket_messages": {"ticket_id": 501},
    "create_ticket": {"subject": "DKIM not verifying", "category": "deliverability",
                      "message": "The DKIM record for example.com is published but still shows pending.",
                      "priority": "high"},
    "reply_to_ticket": {"ticket_id": 501, "message": "Thanks, it verifies now."},
    "close_ticket": {"ticket_id": 501},
    "whoami": {},
    "get_account": {},
    "get_billing_status": {},
    "list_invoices": {},
    # Message tokens
    "create_message_token": {"mailbox_id": 7, "name": "Support bot", "scopes": ["messages:read"], "expires_in": "30d"},
    "list_message_tokens": {"mailbox_id": 7, "page": 1, "per_page": 20},
    "revoke_message_token": {"token_id": 15},
    # Migrations
    "test_migration_connection": dict(MIGRATION_SOURCE, source_username="jane", source_password="app-password-123"),
    "list_migrations": {"status": "processing", "mailbox_id": 7, "page": 1, "per_page": 50},
    "get_migration": {"migration_id": 5},
    "start_migration": dict({"mailbox_id": 7, "provider": "generic_imap"}, **MIGRATION_SOURCE,
                            source_username="jane", source_password="app-password-123",
                            selected_folders=["INBOX", "Sent"], import_since="2024-01-01",
                            skip_duplicates=False, confirm_start=True),
    "cancel_migration": {"migration_id": 5, "confirm_cancel": True},
    "retry_migration": {"migration_id": 5, "confirm_retry": True},
    "delete_migration": {"migration_id": 5, "confirm_delete": True},
    "preview_bulk_migration": {"data": MIGRATION_CSV, "provider": "generic_imap", "source_host": "imap.example.com",
                               "source_port": 993, "source_security": "ssl", "per_row_server": False,
                               "folder_strategy": "standard", "import_since": "2024-01-01", "skip_duplicates": True},
    "start_bulk_migration": {"data": MIGRATION_CSV, "provider": "generic_imap", "source_host": "imap.example.com",
                             "source_port": 993, "source_security": "ssl", "per_row_server": False,
                             "folder_strategy": "standard", "import_since": "2024-01-01", "skip_duplicates": True,
                             "name": "Oldmail move", "confirm_start": True},
    "list_bulk_migrations": {"status": "processing", "per_page": 25},
    "get_bulk_migration": {"batch_id": 12},
    "cancel_bulk_migration": {"batch_id": 12, "confirm_cancel": True},
    "retry_bulk_migration": {"batch_id": 12, "confirm_retry": True},
    "resume_bulk_migration": {"batch_id": 12, "confirm_resume": True},
    "delete_bulk_migration": {"batch_id": 12, "confirm_delete": True},
    "update_bulk_migration_job_password": {"batch_id": 12, "job_id": 340, "source_password": "new-app-password-9"},
    # Spam metrics / verifier
    "get_spam_metrics": {"domain_id": 42, "days": 7},
    "get_spam_summary": {"domain_id": 42, "days": 7},
    "verify_email": {"email": "jane@example.com", "mode": "deep"},
    "verify_email_bulk": {"emails": ["jane@example.com", "john@example.org"], "name": "Newsletter list", "mode": "quick"},
    "verify_job_status": {"job_id": 77, "page": 2, "per_page": 100, "status": "risky", "search": "example.org"},
    "verify_job_download": {"job_id": 77, "filter": "safe_risky"},
    "verify_credits": {},
    "verify_list_jobs": {"page": 1, "per_page": 20, "status": "completed"},
    "verify_cancel_job": {"job_id": 77},
    "verify_delete_job": {"job_id": 77},
    # Cloudflare
    "validate_cloudflare_token": {"api_token": CF_TOKEN},
    "list_cloudflare_zones": {"api_token": CF_TOKEN},
    "connect_cloudflare_domains": {"api_token": CF_TOKEN, "selected": [
        {"zone_id": "023e105f4ecef8ad9ca31a8372d0c353", "zone_name": "example.com", "trekmail_domain_id": 42},
        {"zone_id": "9a7806061c88ada191ed06f989cc3dac", "zone_name": "example.org"},
    ]},
    "preview_cloudflare_dns": {"domain_ids": [42, 43], "included_records": {"42": ["mx_primary", "spf_record"]}},
    "apply_cloudflare_dns": {"domain_ids": [42, 43], "confirmed_conflicts": {"43": ["spf_record"]},
                             "included_records": {"42": ["mx_primary", "spf_record"], "43": ["spf_record", "dkim_record"]}},
    "list_cloudflare_tokens": {},
    "delete_cloudflare_token": {"token_id": 2},
}

# Minimal cases that cannot simply be "the required keys of FULL" (I3).
MINIMAL = {
    "update_domain_catch_all": {"domain_id": 42, "enabled": False},
    "bulk_add_domains": {"domains": ["example.com"]},
    "bulk_create_mailboxes": {"items": [{"domain_id": 42, "local_part": "jane.doe", "password": "Corr3ct-Horse-Battery"}]},
    "create_invites_bulk": {"domain_id": 42, "items": [{"local_part": "alice", "recipient_email": "alice@example.org"}]},
    "set_forwarding": {"mailbox_id": 7, "enabled": False},
    "create_mail_rule": dict({"mailbox_id": 7}, **MIN_RULE),
    "update_mail_rule": dict({"mailbox_id": 7, "rule_id": 11}, **MIN_RULE),
    "set_auto_reply": {"mailbox_id": 7, "enabled": False},
    "send_message": {"to": ["jane@example.com"], "subject": "Hello", "body_text": "Hi Jane!", "confirm_send": True},
    "update_message_flags": {"uid": 1234, "seen": True},
    "download_attachment": {"uid": 1234, "index": 0},
    "bulk_action": {"folder": "INBOX", "uids": [101, 102, 103], "action": "read"},
    "schedule_message": {"to": ["jane@example.com"], "scheduled_for": "2026-12-01T09:00:00Z", "confirm_send": True},
    "update_smtp_config": {"mode": "platform"},
    "verify_email_bulk": {"emails": ["jane@example.com"]},
    "connect_cloudflare_domains": {"api_token": CF_TOKEN, "selected": [
        {"zone_id": "023e105f4ecef8ad9ca31a8372d0c353", "zone_name": "example.com"}]},
    "preview_cloudflare_dns": {"domain_ids": [42]},
    "apply_cloudflare_dns": {"domain_ids": [42]},
}

# Targeted extra cases: (tool, case, args, hand-written expectations checked against the builder).
EXTRA = [
    # I20: the selector the full case does not choose.
    ("set_mailboxes_drive_access", "by_domain", {"drive_access": "attachments_only", "domain_id": 7},
     {"body": {"drive_access": "attachments_only", "domain_id": 7}}),
    ("set_mailboxes_login_access", "by_domain", {"login_suspended": True, "domain_id": 7},
     {"body": {"login_suspended": True, "domain_id": 7}}),
    # create_domain: README example
    ("create_domain", "readme_key_example", {"name": "example.com"},
     {"body": {"name": "example.com"}, "idempotency_key": "mcp_create_domain_aed93f85c7e12b38e66148d3fbf523af"}),
    ("update_domain_catch_all", "disable_without_destination", {"domain_id": 42, "enabled": False},
     {"body": {"enabled": False}}),
    ("update_domain_note", "note_null_clears", {"domain_id": 42, "note": None},
     {"path": "/api/v1/domains/42/note", "body": {"note": None}}),
    ("update_mailbox_note", "note_null_clears", {"mailbox_id": 7, "note": None},
     {"body": {"note": None}}),
    ("create_mailbox_generated_password", "fixed_password_mode",
     {"domain_id": 42, "local_part": "support"},
     {"method": "POST", "path": "/api/v1/mailboxes",
      "body": {"domain_id": 42, "local_part": "support", "password_mode": "generated_one_time"}}),
    ("bulk_create_mailboxes", "generated_one_time_mode",
     {"items": [{"domain_id": 42, "local_part": "sales"}], "password_mode": "generated_one_time"},
     {"body": {"items": [{"domain_id": 42, "local_part": "sales"}], "password_mode": "generated_one_time"},
      "idempotency_key": "secret"}),
    ("create_alias", "defaults_sent", {"mailbox_id": 7, "local_part": "info", "domain_id": 42},
     {"body": {"local_part": "info", "domain_id": 42, "can_receive": True, "can_send": False}}),
    ("create_alias", "explicit_false_receive", {"mailbox_id": 7, "local_part": "-noreply", "domain_id": 42,
                                                "can_receive": False},
     {"body": {"local_part": "-noreply", "domain_id": 42, "can_receive": False, "can_send": False}}),
    ("update_alias", "no_flags_empty_body", {"mailbox_id": 7, "alias_id": 3},
     {"path": "/api/v1/mailboxes/7/aliases/3", "body": {}}),
    ("set_forwarding", "keep_copy_default", {"mailbox_id": 7, "enabled": True, "targets": ["jane@example.org"]},
     {"body": {"enabled": True, "targets": ["jane@example.org"], "keep_copy": True}}),
    ("create_mail_rule", "defaults_sent", dict({"mailbox_id": 7}, **MIN_RULE),
     {"body": dict({"match_type": "all", "stop": False, "enabled": True}, **MIN_RULE)}),
    ("update_mail_rule", "only_match_type_defaulted", dict({"mailbox_id": 7, "rule_id": 11}, **MIN_RULE),
     {"method": "PUT", "body": dict({"match_type": "all"}, **MIN_RULE)}),
    ("set_auto_reply", "skip_lists_default", {"mailbox_id": 7, "enabled": True, "subject": "Away",
                                              "body": "Back on Monday."},
     {"method": "PUT", "body": {"enabled": True, "subject": "Away", "body": "Back on Monday.", "skip_lists": True}}),
    ("confirm_delete_intent", "header_no_body", {"intent_id": 9, "confirm": True},
     {"method": "POST", "path": "/api/v1/delete-intents/9:confirm", "body": None,
      "headers": {"x-confirm-delete": "true"}, "idempotency_key": "windowed"}),
    # list_messages query
    ("list_messages", "unread_only_false", {"unread_only": False},
     {"query": [["unread_only", "false"]], "body": None, "idempotency_key": None}),
    ("list_messages", "folder_with_slash_space", {"folder": "Archive/2024 Q1", "limit": 10},
     {"query": [["folder", "Archive/2024 Q1"], ["limit", "10"]]}),
    # send_message
    ("send_message", "cc_bcc_empty_absent", {"to": ["jane@example.com"], "cc": [], "bcc": [], "subject": "Hello",
                                             "body_text": "Hi Jane!", "confirm_send": True},
     {"body": {"to": ["jane@example.com"], "subject": "Hello", "body": {"text": "Hi Jane!", "html": None}}}),
    ("send_message", "apply_default_recipients_true_absent",
     {"to": ["jane@example.com"], "subject": "Hello", "body_text": "Hi Jane!", "apply_default_recipients": True,
      "confirm_send": True},
     {"body": {"to": ["jane@example.com"], "subject": "Hello", "body": {"text": "Hi Jane!", "html": None}}}),
    ("send_message", "apply_default_recipients_false_sent",
     {"to": ["jane@example.com"], "subject": "Hello", "body_text": "Hi Jane!", "apply_default_recipients": False,
      "confirm_send": True},
     {"body": {"to": ["jane@example.com"], "subject": "Hello", "body": {"text": "Hi Jane!", "html": None},
               "apply_default_recipients": False}}),
    ("send_message", "html_only_text_null",
     {"to": ["jane@example.com"], "subject": "Hello", "body_html": "<p>Hi Jane!</p>", "confirm_send": True},
     {"body": {"to": ["jane@example.com"], "subject": "Hello", "body": {"text": None, "html": "<p>Hi Jane!</p>"}}}),
    ("send_message", "empty_optionals_absent",
     {"to": ["jane@example.com"], "subject": "Hello", "body_text": "Hi Jane!", "attachments": [],
      "reply_to_message_id": "", "headers": {}, "confirm_send": True},
     {"body": {"to": ["jane@example.com"], "subject": "Hello", "body": {"text": "Hi Jane!", "html": None}}}),
    ("send_message", "non_ascii_subject",
     {"to": ["jane@example.com"], "subject": "Grüße aus München ☕", "body_text": "Bis bald — Jörg",
      "confirm_send": True},
     {"body": {"to": ["jane@example.com"], "subject": "Grüße aus München ☕",
               "body": {"text": "Bis bald — Jörg", "html": None}}}),
    # message flags / spam
    ("update_message_flags", "only_seen", {"uid": 1234, "seen": True},
     {"method": "PATCH", "path": "/api/v1/messages/1234", "body": {"flags": {"seen": True}}}),
    ("update_message_flags", "only_flagged_false", {"uid": 1234, "flagged": False},
     {"body": {"flags": {"flagged": False}}}),
    ("report_spam", "no_folder_empty_body", {"uid": 1234},
     {"path": "/api/v1/messages/1234:spam", "body": {}}),
    ("report_ham", "no_folder_empty_body", {"uid": 1234},
     {"path": "/api/v1/messages/1234:ham", "body": {}}),
    ("bulk_action", "delete", {"folder": "INBOX", "uids": [101, 102], "action": "delete"},
     {"body": {"folder": "INBOX", "uids": [101, 102], "action": "delete"}}),
    ("delete_message", "delete_with_query_no_body", {"uid": 1234, "folder": "Archive/2024 Q1"},
     {"method": "DELETE", "path": "/api/v1/messages/1234", "query": [["folder", "Archive/2024 Q1"]], "body": None}),
    # drafts
    ("save_draft", "empty_call_empty_body", {}, {"body": {}}),
    ("save_draft", "empty_to_sent", {"to": []}, {"body": {"to": []}}),
    ("save_draft", "subject_empty_absent", {"subject": "", "to": ["jane@example.com"]},
     {"body": {"to": ["jane@example.com"]}}),
    ("save_draft", "text_only_html_null", {"subject": "Notes", "body_text": "Remember the milk."},
     {"body": {"subject": "Notes", "body": {"text": "Remember the milk.", "html": None}}}),
    ("save_draft", "html_only_text_null", {"body_html": "<p>Draft</p>"},
     {"body": {"body": {"text": None, "html": "<p>Draft</p>"}}}),
    ("save_draft", "empty_body_text_no_body", {"subject": "Notes", "body_text": ""},
     {"body": {"subject": "Notes"}}),
    ("update_draft", "no_body_parts", {"uid": 2001, "subject": "Subject only"},
     {"method": "PUT", "path": "/api/v1/messages/drafts/2001", "body": {"subject": "Subject only"}}),
    ("update_draft", "html_only_text_null", {"uid": 2001, "body_html": "<p>v3</p>"},
     {"body": {"body": {"text": None, "html": "<p>v3</p>"}}}),
    ("schedule_message", "no_body_key",
     {"to": ["jane@example.com"], "scheduled_for": "2026-12-01T09:00:00Z", "subject": "Ping", "confirm_send": True},
     {"body": {"to": ["jane@example.com"], "scheduled_for": "2026-12-01T09:00:00Z", "subject": "Ping"}}),
    ("schedule_message", "text_only_html_null",
     {"to": ["jane@example.com"], "scheduled_for": "2026-12-01T09:00:00Z", "body_text": "Ping", "confirm_send": True},
     {"body": {"to": ["jane@example.com"], "scheduled_for": "2026-12-01T09:00:00Z",
               "body": {"text": "Ping", "html": None}}}),
    ("schedule_message", "empty_timezone_subject_absent_cc_sent",
     {"to": ["jane@example.com"], "scheduled_for": "2026-12-01T09:00:00Z", "timezone": "", "subject": "",
      "cc": [], "confirm_send": True},
     {"body": {"to": ["jane@example.com"], "scheduled_for": "2026-12-01T09:00:00Z", "cc": []}}),
    # folders
    ("rename_folder", "path_slash_space", {"path": "Archive/2024 Q1", "name": "Archive/2024 Q1 closed"},
     {"method": "PATCH", "path": "/api/v1/messages/folders/Archive%2F2024%20Q1",
      "body": {"name": "Archive/2024 Q1 closed"}}),
    ("delete_folder", "path_slash_space", {"path": "Archive/2024 Q1"},
     {"method": "DELETE", "path": "/api/v1/messages/folders/Archive%2F2024%20Q1", "body": None}),
    ("delete_folder", "path_non_ascii", {"path": "Entwürfe/Alt"},
     {"path": "/api/v1/messages/folders/Entw%C3%BCrfe%2FAlt"}),
    ("create_folder", "no_parent", {"name": "Receipts"}, {"body": {"name": "Receipts"}}),
    # contacts
    ("create_contact", "non_ascii_name", {"email": "zoe@example.com", "name": "Zoë Müller", "company": "Bäckerei Groß"},
     {"body": {"email": "zoe@example.com", "name": "Zoë Müller", "company": "Bäckerei Groß"}}),
    ("update_contact", "no_fields_empty_body", {"id": 21}, {"path": "/api/v1/messages/contacts/21", "body": {}}),
    ("remove_contact_group_members", "delete_with_body", {"id": 4, "contact_ids": [21, 22]},
     {"method": "DELETE", "body": {"contact_ids": [21, 22]}}),
    ("block_sender", "whole_domain", {"email_or_domain": "@example.net"}, {"body": {"email_or_domain": "@example.net"}}),
    ("export_contacts", "default_format_absent", {}, {"query": []}),
    # smtp
    ("get_smtp_test_status", "job_id_needs_encoding", {"job_id": "job 7/retry"},
     {"path": "/api/v1/smtp:test-status/job%207%2Fretry"}),
    ("update_smtp_config", "platform_only", {"mode": "platform"}, {"method": "PUT", "body": {"mode": "platform"},
                                                                   "idempotency_key": "windowed"}),
    # message tokens
    ("create_message_token", "all_scopes",
     {"mailbox_id": 7, "name": "Full access", "scopes": ["messages:read", "messages:write", "messages:send"]},
     {"path": "/api/v1/mailboxes/7/message-tokens",
      "body": {"name": "Full access", "scopes": ["messages:read", "messages:write", "messages:send"]}}),
    # migrations
    ("start_bulk_migration", "per_row_server",
     {"data": MIGRATION_CSV_PER_ROW, "per_row_server": True, "confirm_start": True},
     {"body": {"data": MIGRATION_CSV_PER_ROW, "per_row_server": True}}),
    ("close_ticket", "post_without_body", {"ticket_id": 501},
     {"method": "POST", "path": "/api/v1/tickets/501:close", "body": None}),
    # spam metrics / verifier
    ("get_spam_metrics", "days_default_30", {"domain_id": 42}, {"query": [["days", "30"]]}),
    ("get_spam_metrics", "days_7", {"domain_id": 42, "days": 7}, {"query": [["days", "7"]]}),
    ("get_spam_summary", "days_default_30", {"domain_id": 42}, {"query": [["days", "30"]]}),
    ("verify_job_download", "filter_default_all", {"job_id": 77},
     {"path": "/api/v1/verify/bulk/77/download", "query": [["filter", "all"]]}),
    ("verify_email_bulk", "empty_name_dropped", {"emails": ["jane@example.com"], "name": ""},
     {"body": {"emails": ["jane@example.com"]}}),
    ("verify_email", "no_mode", {"email": "jane@example.com"}, {"body": {"email": "jane@example.com"}}),
    # cloudflare
    ("connect_cloudflare_domains", "trekmail_domain_id_null",
     {"api_token": CF_TOKEN, "selected": [{"zone_id": "023e105f4ecef8ad9ca31a8372d0c353", "zone_name": "example.com",
                                           "trekmail_domain_id": None}]},
     {"body": {"api_token": CF_TOKEN, "selected": [{"zone_id": "023e105f4ecef8ad9ca31a8372d0c353",
                                                     "zone_name": "example.com", "trekmail_domain_id": None}]},
      "idempotency_key": "secret"}),
]




# ------------------------------------------------------------------ the 129 latest operations (I18)

PNG_B64 = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 24).decode("ascii")
# Values whose meaning matters, by argument name (or (tool, argument)).
NAMED_VALUES = {
    "space": "mailbox:7", "email": "jane@example.com", "password": "App-Pass-2026-x",
    "smtp_password": "Smtp-Pass-2026-y", "imap_host": "imap.example.net", "smtp_host": "smtp.example.net",
    "host": "smtp.example.net", "imap_username": "jane", "smtp_username": "jane", "username": "mailer",
    "timezone": "Europe/Berlin", "scheduled_for": "2026-12-01T09:00:00Z", "expires_at": "2026-12-31T00:00:00Z",
    "currency": "EUR", "color": "#336699", "primary_color": "#336699", "accent_color": "#ff9900",
    "dashboard_label": "portal", "webmail_label": "webmail", "support_url": "https://help.example.com",
    "support_email": "help@example.com", "sender_email": "noreply@example.com", "local_part": "support",
    "content_base64": PNG_B64, "recipients": ["jane@example.com", "john@example.org"],
    "credential": "spt_test_credential_123", "request_id": "req 7/a", "job_id": "job-7",
    "cursor": "eyJpZCI6MTB9", "search": "jane", "recipient": "example.org", "reason": "Left the company",
    "plan": "pro", "note": "Agency client", "label": "Laptop", "name": "Quarterly report.pdf",
    "display_name": "Support Team", "custom_label": "Team inbox", "signature_html": "<p>Example Corp</p>",
    "permissions": ["mail.read"], "parts": [{"part_number": 1, "etag": "9b2cf535f27731c974343645a3985328"}],
    "action": "member.invited", "port": 587, "quantity": 1000, "size_gb": 250, "size_bytes": 1048576,
    "client_mime": "application/pdf", "local_path": "/tmp/report.pdf", "sort_order": 2,
    "days": 7, "limit": 20, "offset": 40, "per_page": 25, "page": 2, "expires_in_days": 90, "storage_mb": 1024,
}


def synth(spec, name, tool):
    """A valid value for one facts field (I18)."""
    v = NAMED_VALUES.get((tool, name), NAMED_VALUES.get(name))
    if v is not None:
        return v
    t = spec["type"]
    if "enum" in spec and t != "array":
        return spec["enum"][-1] if len(spec["enum"]) > 1 else spec["enum"][0]
    if t == "integer":
        lo = spec.get("min", 1)
        return max(lo, min(spec.get("max", 7), 7))
    if t == "boolean":
        return True
    if t == "string":
        text = name.replace("_", " ").capitalize()
        return text[:spec.get("max_length", 255)]
    if t == "array":
        if spec.get("items") == "integer":
            return [3, 4]
        if spec.get("items") == "string":
            if "enum" in spec:
                return spec["enum"][:1]
            return ["jane@example.com"] if spec.get("format") == "email" else ["one"]
    raise SystemExit("%s.%s: no synthesised value for %s" % (tool, name, t))


def synth_full(rec):
    return {name: synth(spec, name, rec["tool"]) for name, (spec, _loc, _req) in arg_specs(rec).items()}


# Hand-written where a synthesised full case would break a rule of the facts.
FULL_LATEST = {
    "create_forwarding_address": {"domain_id": 7, "local_part": "sales", "recipients": ["jane@example.com"],
                                  "is_active": False},
    # I20: one selector each; the others are cases of their own (EXTRA).
    "set_mailboxes_drive_access": {"drive_access": "disabled", "mailbox_ids": [3, 4]},
    "set_mailboxes_login_access": {"login_suspended": True, "reason": "Left the company", "mailbox_ids": [3, 4]},
    "test_domain_smtp": {"domain_id": 7, "mode": "custom", "smtp_connection_id": 3, "host": "smtp.example.net", "port": 587,
                         "encryption": "tls", "username": "mailer", "password": "Smtp-Pass-2026-y"},
}
# Required arguments alone break a check of the facts: the smallest addition (I3).
MINIMAL_LATEST = {
    "update_forwarding_address": {"domain_id": 7, "forwarding_address_id": 7, "is_active": False},
    "update_white_label_member": {"member_id": 7, "note": "Agency client"},
    "update_message_token": {"token_id": 7, "name": "Support bot"},
    "set_mailboxes_drive_access": {"drive_access": "full", "all": True},
    "set_mailboxes_login_access": {"login_suspended": False, "all": True},
}

# ------------------------------------------------------------------ generation + self-check

def required_args(rec):
    return {n for n, (_s, _l, req) in arg_specs(rec).items() if req}


def minimal_args(rec):
    tool = rec["tool"]
    if tool in MINIMAL:
        return MINIMAL[tool]
    req = required_args(rec)
    return {k: v for k, v in FULL[tool].items() if k in req}


def check_policies_match_facts(recs):
    """Fail loudly if the facts grow wire rules the policy tables do not know about."""
    by_tool = {r["tool"]: r for r in recs}
    for (tool, field) in list(NONEMPTY) + list(TRUTHY) + list(FALSE_ONLY) + list(TRUE_ONLY) + list(DEFAULT_SENT) + \
            list(FLATTENED):
        names = [f["name"] for f in by_tool[tool]["body"]["fields"]]
        assert field in names, (tool, field)
    for r in recs:
        for f in (r["body"] or {}).get("fields", []):
            key = (r["tool"], f["name"])
            if "default" in f:
                assert DEFAULT_SENT.get(key) == f["default"], key
            if is_flattened(f):
                assert key in FLATTENED, key
            d = f.get("description", "").lower()
            if ("non-empty" in d or "has keys" in d or "truthy" in d or "only ever sent" in d) and \
                    "body_text or body_html" not in d and "when the array" not in d:
                assert key in NONEMPTY | TRUTHY | FALSE_ONLY | TRUE_ONLY, key
            if "when the array is non-empty" in d:
                assert key in NONEMPTY, key
            if "only as true" in d or "only when the argument is true" in d:
                assert key in TRUE_ONLY, key
            if "null when absent" in d:
                assert key in DEFAULT_SENT and DEFAULT_SENT[key] is None, key
        for q in r["query"]:
            if "default" in q:
                assert any(w in q["description"] for w in ("always sends", "sent as", "client sends")), \
                    (r["tool"], q["name"])


def make_case(rec, name, args):
    try:
        validate_args(rec, args)
    except Invalid as e:
        raise SystemExit("invalid args for %s/%s: %s" % (rec["tool"], name, e))
    return {"tool": rec["tool"], "case": name, "token": rec["token"], "args": args,
            "request": build_request(rec, args)}


def main(argv):
    recs = []
    for facts_path in argv[1:] or DEFAULT_FACTS:
        with open(facts_path, encoding="utf-8") as fh:
            recs.extend(json.loads(line) for line in fh if line.strip())
    for r in recs:
        if "gate_reason" in r:  # the latest facts (I18)
            FULL[r["tool"]] = FULL_LATEST.get(r["tool"]) or synth_full(r)
            if r["tool"] in MINIMAL_LATEST:
                MINIMAL[r["tool"]] = MINIMAL_LATEST[r["tool"]]
    tools = [r["tool"] for r in recs]
    by_tool = {r["tool"]: r for r in recs}
    assert len(recs) == EXPECTED_TOOL_COUNT and len(set(tools)) == len(tools), "expected 272 distinct tools"
    assert set(FULL) == set(tools), ("FULL table mismatch", set(FULL) ^ set(tools))
    assert set(MINIMAL) <= set(tools) and all(t in by_tool for t, *_ in EXTRA)
    for r in recs:
        assert (r["method"] == "GET") == (r["idempotency"] is None), r["tool"]
    check_policies_match_facts(recs)

    # README example must hold.
    assert idempotency_key("create_domain", {"name": "example.com"}) == \
        "mcp_create_domain_aed93f85c7e12b38e66148d3fbf523af"
    assert encode_segment("Archive/2024 Q1") == "Archive%2F2024%20Q1"

    extras = {}
    for tool, name, args, expect in EXTRA:
        extras.setdefault(tool, []).append((name, args, expect))

    cases = []
    for rec in recs:
        tool = rec["tool"]
        specs = arg_specs(rec)
        full = FULL[tool]
        unchosen = set(exactly_one_of(rec) or []) - set(full)  # I20
        assert set(full) == set(specs) - unchosen, ("full case must use every argument", tool, set(full) ^ set(specs))
        minimal = minimal_args(rec)
        req = required_args(rec)
        assert req <= set(minimal) <= req | MINIMAL_CHECK_EXTRA.get(tool, set()), ("minimal", tool, set(minimal))
        tool_cases = [make_case(rec, "minimal", minimal), make_case(rec, "full", full)]
        for name, args, expect in extras.get(tool, []):
            case = make_case(rec, name, args)
            for k, v in expect.items():
                got = case["request"][k]
                if got != v:
                    raise SystemExit("%s/%s: %s is %s, expected %s" % (tool, name, k,
                                     json.dumps(got, ensure_ascii=False), json.dumps(v, ensure_ascii=False)))
            tool_cases.append(case)
        names = [c["case"] for c in tool_cases]
        assert len(names) == len(set(names)) >= 2, (tool, names)
        for c in tool_cases:
            rq = c["request"]
            if rq is None:  # I17
                continue
            assert all(k == k.lower() for k in rq["headers"])
            assert rq["query"] == sorted(rq["query"], key=lambda p: p[0])
            if rec["body"] is not None:
                assert isinstance(rq["body"], dict), (tool, c["case"])
            else:
                assert rq["body"] is None, (tool, c["case"])
            for hidden in excluded_from_hash(rec):  # confirmations never reach the wire
                assert not (isinstance(rq["body"], dict) and hidden in rq["body"]), (tool, hidden)
                assert hidden not in [q[0] for q in rq["query"]], (tool, hidden)
        cases.extend(tool_cases)

    # spot checks derived by hand from the facts
    first = {(c["tool"], c["case"]): c["request"] for c in cases}
    assert first[("pause_mailbox", "minimal")]["path"] == "/api/v1/mailboxes/7:pause"
    assert first[("bulk_add_domains", "minimal")]["path"] == "/api/v1/domains:bulk-add"
    assert first[("get_dns_check", "minimal")]["path"] == "/api/v1/dns-checks/88"
    assert first[("download_attachment", "minimal")]["path"] == "/api/v1/messages/1234/attachments/0"
    assert first[("send_message", "minimal")]["body"] == {
        "to": ["jane@example.com"], "subject": "Hello", "body": {"text": "Hi Jane!", "html": None}}
    assert first[("list_messages", "full")]["query"] == [
        ["before_uid", "1200"], ["external_account_id", "5"], ["folder", "INBOX"], ["limit", "25"],
        ["search", "invoice"], ["since", "2026-11-01"], ["unread_only", "true"]]
    assert first[("delete_identity", "minimal")]["body"] is None

    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    text = json.dumps(cases, indent=2, ensure_ascii=False) + "\n"
    with open(OUTPUT, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    exact = sum(1 for c in cases if ((c["request"] or {}).get("idempotency_key") or "").startswith("mcp_"))
    print("wrote %s: %d cases for %d tools (%d with an exact idempotency key)"
          % (OUTPUT, len(cases), len(recs), exact))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
