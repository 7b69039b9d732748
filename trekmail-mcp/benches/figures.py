#!/usr/bin/env python3
"""The figures of docs/benchmarks.md (issue 23) for a release binary, over stdio against a local
stub API on loopback:

    cargo build --release -p trekmail-mcp --locked && python3 trekmail-mcp/benches/figures.py [BINARY [ORDER]]

- first, whether `link-order.txt` (or ORDER) is current for the binary: the names it lists that
  the binary does not define, and the functions a start, the first `tools/list` and three
  `get_domain` calls run that it does not list (a stale file lets the peak RSS rows grow back);
- instructions (valgrind's callgrind; repeatable whatever else the machine is doing) from start
  to `initialize` answered and the end of input, for the first `tools/list`, for the first
  `get_domain` call (which reads its operation and opens the connection) and per `get_domain`
  call after it (mean of 200);
- wall clock beside them: start to `initialize` answered (median of 21 starts, with the harness
  alone in the same runs: `cat` answering at once), the first `tools/list` (median of 21
  processes) and a `get_domain` call (mean of 1,000);
- peak RSS (VmHWM, in MiB) after `initialize` and after `initialize` + `tools/list` (median of 7
  processes), and RSS after 1,000 `get_domain` calls;
- an 8 MB and a 25 MB attachment: tool call + `resources/read`, downloads from the API, time to
  the client's parsed answer and peak RSS, above what `initialize` left (median of 5 fresh
  processes each).

With scope awareness on (the default) the first `tools/list` or call asks the API what the tokens
grant (`GET /me`, `GET /messages/_me`): its cost is in the `tools/list` rows, not in start-up.

Each for all 272 tools listed (both tokens) and for the 143 tools of the reference server
(`TREKMAIL_TOOLS` from benches/tools143.txt). Prints figures; asserts nothing.
"""

import base64
import fcntl
import json
import os
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = json.dumps({"data": {"id": 7, "name": "example.com", "status": "active"}}).encode()
CALLS = 200
MB = 1024 * 1024


def attachment(size):
    raw = bytes([0xA5]) * size
    return json.dumps({"data": {"filename": "big.bin", "content_type": "application/octet-stream",
                                "content_base64": base64.b64encode(raw).decode()}}).encode()


FILES = {"/api/v1/messages/5/attachments/0": (8, None), "/api/v1/messages/6/attachments/0": (25, None)}
DOWNLOADS = {}


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm holds the
        # body until the client's delayed ACK (40 ms a call on Linux).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        path = self.path.split("?")[0]
        body = DOMAIN
        if path in FILES:
            DOWNLOADS[path] = DOWNLOADS.get(path, 0) + 1
            size, cached = FILES[path]
            if cached is None:
                cached = attachment(size * MB)
                FILES[path] = (size, cached)
            body = cached
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def env(port, tools):
    e = {
        "TREKMAIL_BASE_URL": f"http://127.0.0.1:{port}",
        "TREKMAIL_API_TOKEN": "tm_live_bench",
        "TREKMAIL_MESSAGE_TOKEN": "tm_msg_bench",
        "TREKMAIL_LOG": "off",
        "PATH": os.environ.get("PATH", ""),
    }
    if tools:
        e["TREKMAIL_TOOLS"] = ",".join(tools)
    return e


class Session:
    def __init__(self, cmd, environ):
        self.p = subprocess.Popen(cmd, env=environ, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.n = 0

    def rpc(self, method, params, full_pipe=False):
        """Sends a request and reads its answer; with `full_pipe`, only once the answer fills
        the stdout pipe (or is all there): under valgrind a client reading at once keeps up with
        the slowed server, which then never waits for room, as it does when not traced."""
        self.n += 1
        msg = {"jsonrpc": "2.0", "id": self.n, "method": method, "params": params}
        self.p.stdin.write((json.dumps(msg) + "\n").encode())
        self.p.stdin.flush()
        if full_pipe:
            self.wait_for_pipe()
        return self.p.stdout.readline()

    def wait_for_pipe(self, full=64 * 1024, timeout=60):
        fd = self.p.stdout.fileno()
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            n = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
            if n >= full:
                return
            # An answer smaller than the pipe: all there once nothing more arrives for a while.
            if n != last:
                last, since = n, time.monotonic()
            elif n > 0 and time.monotonic() - since > 2:
                return
            time.sleep(0.01)

    def initialize(self):
        line = self.rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                       "clientInfo": {"name": "bench", "version": "1"}})
        self.p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        self.p.stdin.flush()
        return line

    def status_kb(self, field):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
        return 0

    def close(self):
        self.p.stdin.close()
        err = self.p.stderr.read().decode(errors="replace")
        self.p.wait()
        return err


def drive(s, listing, calls, full_pipe=False):
    """Session `s` through `initialize`, the first `tools/list` when `listing` (read once it fills
    the pipe with `full_pipe`), then `calls` get_domain calls."""
    s.initialize()
    if listing:
        s.rpc("tools/list", {}, full_pipe=full_pipe)
    for _ in range(calls):
        s.rpc("tools/call", {"name": "get_domain", "arguments": {"domain_id": 7}})


def callgrind(binary, environ, listing=False, calls=0, flags=()):
    """Runs `binary` under valgrind's callgrind (with `flags`): start to `initialize` answered, the
    first `tools/list` when `listing`, then `calls` get_domain calls, and the end of input.
    Returns callgrind's stderr and its output file."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        s = Session(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *flags, binary], environ)
        drive(s, listing, calls, full_pipe=True)
        err = s.close()
        with open(out) as f:
            return err, f.read()


def instructions(binary, environ, scenario, calls=CALLS):
    err, _ = callgrind(binary, environ, listing=scenario == "list", calls=calls if scenario == "calls" else 0)
    m = re.search(r"Collected : (\d+)", err)
    if not m:
        sys.exit(f"callgrind printed no total:\n{err[-2000:]}")
    return int(m.group(1))


def wall_to_initialize(binary, environ, runs=21):
    """Start to `initialize` answered (median and best of `runs`), the first `tools/list`, and
    the harness alone in the same runs: `cat` answering each request at once with its own line
    (starting a process and a pipe round trip, which no server can go below; the machine's load
    moves both)."""
    times, lists, floor = [], [], []
    for _ in range(runs):
        t = time.perf_counter()
        s = Session(["cat"], environ)
        s.initialize()
        floor.append(time.perf_counter() - t)
        s.close()
        t = time.perf_counter()
        s = Session([binary], environ)
        s.initialize()
        times.append(time.perf_counter() - t)
        t = time.perf_counter()
        s.rpc("tools/list", {})
        lists.append(time.perf_counter() - t)
        s.close()
    return (statistics.median(times) * 1000, min(times) * 1000, statistics.median(lists) * 1000,
            statistics.median(floor) * 1000)


def evict(path):
    """Drops `path` from the page cache (written out first, or its dirty pages would stay)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def memory(binary, environ, runs=7):
    """Peak RSS after initialize and after the first tools/list (median of `runs` processes:
    the kernel maps a binary 64 KiB around each page used and the load address moves by 4 KiB
    steps, so one process's figure moves by ~0.2 MB), then, in the last process, RSS after
    1,000 get_domain calls. The binary's file is first dropped from the page cache: how much a
    fault maps depends on the cache's folios for it, so the same binary read 6.45 or 6.81 MB
    after tools/list depending on how its copy had been cached (ext4, Linux 6.18); read back
    from disk it gives the same figure each time."""
    evict(binary)
    inits, lists = [], []
    for i in range(runs):
        s = Session([binary], environ)
        s.initialize()
        inits.append(s.status_kb("VmHWM:"))
        listed = json.loads(s.rpc("tools/list", {}))
        tools = len(listed["result"]["tools"])
        lists.append(s.status_kb("VmHWM:"))
        if i < runs - 1:
            s.close()
    t = time.perf_counter()
    for _ in range(1000):
        s.rpc("tools/call", {"name": "get_domain", "arguments": {"domain_id": 7}})
    call_ms = (time.perf_counter() - t) * 1000 / 1000  # ms per call
    rss_calls, peak_calls = s.status_kb("VmRSS:"), s.status_kb("VmHWM:")
    s.close()
    return (tools, statistics.median(inits), statistics.median(lists), min(lists), max(lists), call_ms,
            rss_calls, peak_calls)


def file_row(binary, environ, uid, path, runs=5):
    """Median time and peak RSS over `runs` fresh processes; the stub's answer is built before."""
    size, cached = FILES[path]
    if cached is None:
        FILES[path] = (size, attachment(size * MB))
    rows = []
    for _ in range(runs):
        DOWNLOADS.clear()
        s = Session([binary], environ)
        s.initialize()
        base = s.status_kb("VmHWM:")
        t = time.perf_counter()
        r = json.loads(s.rpc("tools/call", {"name": "download_attachment", "arguments": {"uid": uid, "index": 0}}))
        uri = r["result"].get("structuredContent", {}).get("uri", "")
        line = s.rpc("resources/read", {"uri": uri})
        received = time.perf_counter() - t
        read = json.loads(line)
        elapsed = time.perf_counter() - t
        result_bytes = len(json.dumps(r["result"]))
        got = len(read.get("result", {}).get("contents", [{}])[0].get("blob", ""))
        peak = s.status_kb("VmHWM:")
        s.close()
        rows.append((elapsed * 1000, DOWNLOADS.get(path, 0), peak, base, result_bytes, got, received * 1000))
    median = lambda i: statistics.median(r[i] for r in rows)
    return median(0), max(r[1] for r in rows), median(2), median(3), rows[0][4], rows[0][5], median(6)


def file_rows(binary, e):
    for size, uid in ((8, 5), (25, 6)):
        path = f"/api/v1/messages/{uid}/attachments/0"
        ms, downloads, peak, base, result_bytes, got, received = file_row(binary, e, uid, path)
        print(f"  {size} MB attachment, call + resources/read (median of 5 fresh processes)")
        print(f"    to the client's parsed bytes {ms:8.0f} ms wall (target <= 215 ms for 8 MB; {received:.0f} ms to the "
              f"last byte, the rest is the Python client's json.loads), {downloads} download(s) from the API")
        print(f"    peak RSS {peak / 1024:.1f} MB: {(peak - base) / 1024:.1f} MB above the {base / 1024:.1f} MB after "
              f"initialize ({(peak - base) * 1024 / max(got, 1):.2f}x its base64)")
        print(f"    what the agent's context receives: the tool result, {result_bytes} bytes "
              f"(resources/read: {got} bytes of base64 to the client)")


def http_file_row(binary, environ, size, uid):
    """The same attachment over Streamable HTTP (operator tokens, JSON answers): peak RSS of one
    fresh process above what `initialize` left, against the size of the `resources/read` answer.
    rmcp serializes each message into one buffer before sending it, so the base64 is held twice
    for that moment (stdio writes straight to its output)."""
    import urllib.request

    path = f"/api/v1/messages/{uid}/attachments/0"
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    bearer = "figures-bearer-0123456789abcdef"
    e = dict(environ, TREKMAIL_HTTP_LISTEN=f"127.0.0.1:{port}", TREKMAIL_HTTP_BEARER=bearer)
    p = subprocess.Popen([binary], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def post(msg):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/mcp", data=json.dumps(msg).encode(), headers={
            "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
            "Authorization": f"Bearer {bearer}", "MCP-Protocol-Version": "2025-11-25"})
        return urllib.request.urlopen(req, timeout=60).read()

    def hwm():
        with open(f"/proc/{p.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))

    try:
        for _ in range(200):
            try:
                post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}})
                break
            except OSError:
                time.sleep(0.05)
        base = hwm()
        before = DOWNLOADS.get(path, 0)
        r = json.loads(post({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "download_attachment", "arguments": {"uid": uid, "index": 0}}}))
        uri = r["result"].get("structuredContent", {}).get("uri", "")
        answer = post({"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": {"uri": uri}})
        peak = hwm()
    finally:
        p.terminate()
        p.wait()
    print(f"  {size} MB attachment over HTTP: {DOWNLOADS.get(path, 0) - before} download(s); peak RSS "
          f"{peak / 1024:.1f} MB, {(peak - base) / 1024:.1f} MB above initialize "
          f"({(peak - base) * 1024 / max(len(answer), 1):.2f}x the {len(answer)}-byte answer)")


def link_order_report(binary, order, environ):
    """Whether `order` (the symbol ordering file the release build hands the linker) is current
    for `binary`: names are compared mangled, as callgrind (--demangle=no) and the file give them."""
    if shutil.which("valgrind") is None:
        print("[link-order.txt] not checked: valgrind is missing")
        return
    import link_order  # here, not at the top: link_order imports this module

    defined = link_order.functions(binary)
    with open(order) as f:
        listed = {line.strip() for line in f if line.strip()}
    gone = listed - defined.keys()
    ran = link_order.run(binary, environ, "call")
    missing = sorted((n for n in ran if n in defined and n not in listed), key=lambda n: -defined[n])
    size = sum(defined[n] for n in missing)
    largest = missing[:5]
    shown = largest
    if largest and shutil.which("c++filt"):
        out = subprocess.run(["c++filt"], input="\n".join(largest), capture_output=True, text=True).stdout
        if len(out.splitlines()) == len(largest):
            # Without the crates' disambiguating hashes, cut: enough to find the function.
            shown = [re.sub(r"\[[0-9a-f]+\]", "", n)[:110] for n in out.splitlines()]
    name = os.path.relpath(order)
    print(f"[{order if name.startswith('..') else name} against {binary}]")
    print(f"  listed names the binary does not define   {len(gone):8} of {len(listed)}")
    print(f"  functions run but not listed              {len(missing):8} ({size / 1024:.1f} KB of code; "
          f"start, first tools/list, 3 get_domain)")
    for n, name in zip(largest, shown):
        print(f"    {defined[n]:7} bytes  {name}")
    # A few small functions run or not by the threads' timing (under valgrind, a contended lock
    # is usual): below one 4 KiB page of code in all they are noise, not a stale file.
    if gone or size >= 4096:
        print("  stale: run `python3 trekmail-mcp/benches/link_order.py` and rebuild the release binary "
              "before reading the peak RSS rows")
    elif missing:
        print("  current: the functions above, under 4 KB in all, run or not by the threads' timing")
    else:
        print("  current")


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join("target", "release", "trekmail-mcp")
    order = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(HERE), "link-order.txt")
    api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    port = api.server_address[1]
    link_order_report(binary, order, env(port, None))
    with open(os.path.join(HERE, "tools143.txt")) as f:
        t143 = [line.strip() for line in f if line.strip()]
    for label, tools in (("272 tools", None), ("143 tools", t143)):
        e = env(port, tools)
        init = instructions(binary, e, "init")
        listed = instructions(binary, e, "list")
        first = instructions(binary, e, "calls", 1)
        calls = instructions(binary, e, "calls", 1 + CALLS)
        med, best, list_ms, floor_ms = wall_to_initialize(binary, e)
        n, hwm_init, hwm_list, list_lo, list_hi, call_ms, rss_calls, hwm_calls = memory(binary, e)
        print(f"[{label}: {n} listed]")
        print(f"  start to initialize answered (and exit)  {init / 1e6:8.1f} M instructions, "
              f"{med:.1f} ms median wall ({best:.1f} best of 21; the harness alone, `cat`: "
              f"{floor_ms:.1f} ms)")
        print(f"  the first tools/list                     {(listed - init) / 1e6:8.2f} M instructions, "
              f"{list_ms:.1f} ms median wall")
        print(f"  the first tools/call get_domain          {(first - init) / 1e6:8.2f} M instructions")
        print(f"  tools/call get_domain (mean of {CALLS} more) {(calls - first) / CALLS / 1e3:8.0f} k instructions, "
              f"{call_ms:.3f} ms wall (mean of 1,000)")
        print(f"  peak RSS after initialize                {hwm_init / 1024:8.2f} MB (median of 7 processes)")
        print(f"  peak RSS after initialize + tools/list   {hwm_list / 1024:8.2f} MB (median of 7; "
              f"{list_lo / 1024:.2f} to {list_hi / 1024:.2f})")
        print(f"  RSS after 1,000 get_domain calls         {rss_calls / 1024:8.1f} MB (peak {hwm_calls / 1024:.1f} MB)")
        file_rows(binary, e)
        for size, uid in ((8, 5), (25, 6)):
            http_file_row(binary, e, size, uid)
    api.shutdown()


if __name__ == "__main__":
    main()
