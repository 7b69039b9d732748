#!/usr/bin/env python3
"""Scale-out harness: a real Redis (append-only file on), three replicas of trekmail-mcp in
HTTP caller mode behind HAProxy (round robin, no stickiness), and an API stand-in that records
every side effect by Idempotency-Key and answers like an idempotency cache (the same key gets
the first answer replayed). Many concurrent callers run A, B, A patterns, retries after client
timeouts, concurrent identical and concurrent different writes to one target; a replica is
killed (SIGKILL) and restarted mid-run, and Redis is killed and restarted from its append-only
file. Every intended write must reach the API exactly once: none swallowed, none duplicated;
a write whose answer the caller never got (a replica killed under it) at most once. Last, a
Redis that speaks TLS only (rediss://), its certificate signed by a private CA: two replicas
given the CA (TREKMAIL_STATE_CA_FILE) keep A, B, A across them; one without it refuses the
write, sends nothing, and counts the failure in /metrics.

Everything is on loopback, bounded in count and time. Usage: drive.py BINARY TLS_DIR (TLS_DIR:
ca.pem, redis.pem and redis.key, made by run.sh)
"""

import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CALLERS = 24
SLOW_S = 0.8  # how long the API stand-in takes for a "slow-" write
CLIENT_TIMEOUT_S = 10.0
MAX_ATTEMPTS = 60
HARNESS_DEADLINE_S = 150
SEND_RATE = 5  # recipients per hour, shared by the three replicas
# `no` shows what a store without persistence costs (the harness then fails): SCALE_APPENDONLY=no
APPENDONLY = os.environ.get("SCALE_APPENDONLY", "yes")
START = time.monotonic()

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


# --- The API stand-in ------------------------------------------------------------------------


class Api:
    """Records side effects by Idempotency-Key; a key seen again replays the first answer (a
    request still in progress with that key is waited for). Keys are per account (token), as
    the API keeps them."""

    def __init__(self):
        self.lock = threading.Lock()
        self.answers = {}  # key -> (status, body bytes, request fingerprint)
        self.inflight = {}  # key -> Event
        self.effects = []  # (token, mailbox, folder, key)
        self.requests = 0
        self.replays = 0
        self.conflicts = 0
        self.invites = 0  # create_invite requests: mail that went out (TREKMAIL_SEND_RATE)

    def handle(self, token, mailbox, body, key):
        fingerprint = (mailbox, body)
        key = (token, key)
        while True:
            with self.lock:
                self.requests += 1
                if key in self.answers:
                    status, answer, fp = self.answers[key]
                    if fp != fingerprint:
                        self.conflicts += 1
                        return 422, b'{"error":{"code":"idempotency_key_reused","message":"key reused"}}'
                    self.replays += 1
                    return status, answer
                event = self.inflight.get(key)
                if event is None:
                    event = threading.Event()
                    self.inflight[key] = event
                    break
            event.wait(30)
        folder = json.loads(body)["actions"][0]["value"]
        if folder.startswith("slow-"):
            time.sleep(SLOW_S)
        with self.lock:
            self.effects.append((token, mailbox, folder, key[1]))
            answer = json.dumps({"id": len(self.effects), "name": folder}).encode()
            self.answers[key] = (201, answer, fingerprint)
            del self.inflight[key]
        event.set()
        return 201, answer


def api_server(api, port):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(n)
            parts = self.path.split("/")
            key = self.headers.get("idempotency-key")
            if self.path == "/api/v1/mailboxes/invites":
                with api.lock:
                    api.invites += 1
                return self.send(201, b'{"data":{"id":1,"status":"sent"}}')
            if len(parts) != 6 or parts[5] != "rules" or not key:
                return self.send(404, b'{"error":{"code":"not_found","message":"no"}}')
            token = (self.headers.get("authorization") or "").removeprefix("Bearer ")
            status, answer = api.handle(token, int(parts[4]), body, key)
            self.send(status, answer)

        def send(self, status, body):
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            # A replica killed under a request: its connection breaks; nothing to report.
            pass

    server = Server(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- The parts -------------------------------------------------------------------------------


class Parts:
    def __init__(self, binary, tmp):
        self.binary = binary
        self.tmp = tmp
        self.redis_port = free_port()
        self.api_port = free_port()
        self.lb_port = free_port()
        self.replica_ports = [free_port() for _ in range(3)]
        self.replicas = [None, None, None]
        self.peak_rss_kb = [0, 0, 0]
        self.redis = None
        self.haproxy = None
        self.tls_redis = None
        self.extra = []  # the TLS phase's replicas
        self.logs = []

    def log(self, name):
        f = open(os.path.join(self.tmp, f"{name}.log"), "ab")
        self.logs.append(f)
        return f

    def start_redis(self):
        self.redis = subprocess.Popen(
            [
                "redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                "--dir", self.tmp, "--appendonly", APPENDONLY, "--appendfsync", "always",
                "--save", "", "--protected-mode", "yes",
            ],
            stdout=self.log("redis"), stderr=subprocess.STDOUT,
        )
        check(wait_port(self.redis_port), "redis listens")

    def start_tls_redis(self, tls):
        """A second Redis, TLS only (no plain port), in its own directory."""
        self.tls_redis_port = free_port()
        d = os.path.join(self.tmp, "tls-redis")
        os.makedirs(d, exist_ok=True)
        self.tls_redis = subprocess.Popen(
            [
                "redis-server", "--port", "0", "--tls-port", str(self.tls_redis_port),
                "--bind", "127.0.0.1", "--dir", d, "--save", "", "--appendonly", "no",
                "--tls-cert-file", os.path.join(tls, "redis.pem"),
                "--tls-key-file", os.path.join(tls, "redis.key"),
                "--tls-ca-cert-file", os.path.join(tls, "ca.pem"),
                "--tls-auth-clients", "no",
            ],
            stdout=self.log("tls-redis"), stderr=subprocess.STDOUT,
        )
        check(wait_port(self.tls_redis_port), "the TLS redis listens")

    def start_tls_replica(self, name, ca_file):
        """A replica whose store is the TLS Redis, trusting `ca_file` (None: the system's roots)."""
        port = free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TREKMAIL_BASE_URL": f"http://127.0.0.1:{self.api_port}",
            "TREKMAIL_HTTP_LISTEN": f"127.0.0.1:{port}",
            "TREKMAIL_HTTP_TOKENS": "caller",
            "TREKMAIL_STATE_URL": f"rediss://127.0.0.1:{self.tls_redis_port}",
            "TREKMAIL_TIMEOUT_MS": "3000",
            "TREKMAIL_LOG": "warn",
        }
        if ca_file:
            env["TREKMAIL_STATE_CA_FILE"] = ca_file
        p = subprocess.Popen(
            [self.binary], env=env, stdin=subprocess.DEVNULL,
            stdout=self.log(name), stderr=subprocess.STDOUT,
        )
        self.extra.append(p)
        check(wait_port(port), f"{name} listens")
        return port

    def start_replica(self, i):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TREKMAIL_BASE_URL": f"http://127.0.0.1:{self.api_port}",
            "TREKMAIL_HTTP_LISTEN": f"127.0.0.1:{self.replica_ports[i]}",
            "TREKMAIL_HTTP_TOKENS": "caller",
            "TREKMAIL_STATE_URL": f"redis://127.0.0.1:{self.redis_port}",
            "TREKMAIL_TIMEOUT_MS": "10000",
            "TREKMAIL_LOG": "warn",
            # One budget for the deployment, counted in Redis by every replica (phase 5).
            "TREKMAIL_ALLOW_SENDING": "true",
            "TREKMAIL_HUMAN_CONFIRM": "never",
            "TREKMAIL_SEND_RATE": f"{SEND_RATE}/h",
        }
        self.replicas[i] = subprocess.Popen(
            [self.binary], env=env, stdin=subprocess.DEVNULL,
            stdout=self.log(f"replica{i}"), stderr=subprocess.STDOUT,
        )
        check(wait_port(self.replica_ports[i]), f"replica {i} listens")

    def start_haproxy(self):
        servers = "\n".join(
            f"  server r{i} 127.0.0.1:{p} check inter 200ms fall 1 rise 1"
            for i, p in enumerate(self.replica_ports)
        )
        cfg = f"""
global
  maxconn 2048
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 2
  option redispatch
frontend fe
  bind 127.0.0.1:{self.lb_port}
  default_backend be
backend be
  balance roundrobin
  option httpchk GET /healthz
{servers}
"""
        path = os.path.join(self.tmp, "haproxy.cfg")
        with open(path, "w") as f:
            f.write(cfg)
        self.haproxy = subprocess.Popen(
            ["haproxy", "-f", path, "-db"], stdout=self.log("haproxy"), stderr=subprocess.STDOUT
        )
        check(wait_port(self.lb_port), "haproxy listens")

    def sample_rss(self):
        for i, p in enumerate(self.replicas):
            if p is None or p.poll() is not None:
                continue
            try:
                with open(f"/proc/{p.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.peak_rss_kb[i] = max(self.peak_rss_kb[i], int(line.split()[1]))
            except OSError:
                pass

    def kill(self, p):
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()

    def stop(self):
        for p in self.replicas + self.extra + [self.haproxy, self.redis, self.tls_redis]:
            self.kill(p)
        for f in self.logs:
            f.close()


# --- Callers ---------------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = []
        self.errors = {}

    def ok(self, seconds):
        with self.lock:
            self.latencies.append(seconds)

    def error(self, kind):
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1


class Caller:
    def __init__(self, port, token, stats):
        self.port = port
        self.token = token
        self.stats = stats
        self.conn = None
        self.n = 0

    def post(self, mailbox, folder, timeout):
        """One tools/call: 'ok', 'retryable' (the answer says so, or the transport failed:
        a replica killed, a timeout) or 'error' (anything else: a bug)."""
        self.n += 1
        msg = {
            "jsonrpc": "2.0", "id": self.n, "method": "tools/call",
            "params": {"name": "create_mail_rule", "arguments": {
                "mailbox_id": mailbox,
                "conditions": [{"field": "subject", "operator": "contains", "value": "x"}],
                "actions": [{"type": "fileinto", "value": folder}],
            }},
        }
        headers = {
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": "2025-11-25",
            "authorization": f"Bearer {self.token}",
        }
        t0 = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            self.conn.timeout = timeout
            if self.conn.sock is not None:
                self.conn.sock.settimeout(timeout)
            self.conn.request("POST", "/mcp", json.dumps(msg), headers)
            resp = self.conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()
            self.conn = None
            kind = "client timeout" if isinstance(e, TimeoutError) else "connection failed"
            self.stats.error(kind)
            return "retryable", kind
        if resp.status != 200:
            self.stats.error(f"HTTP {resp.status}")
            return ("retryable" if resp.status in (502, 503, 504) else "error"), resp.status
        answer = json.loads(body)
        result = answer.get("result") or {}
        if "error" in answer or result.get("isError"):
            text = " ".join(c.get("text", "") for c in result.get("content", []))
            text = text or json.dumps(answer.get("error"))
            if "retry the same call shortly" in text:
                self.stats.error("refused: state store unavailable")
                return "retryable", text
            self.stats.error("tool error")
            return "error", text
        self.stats.ok(time.monotonic() - t0)
        return "ok", None

    def intent(self, mailbox, folder, first_timeout=CLIENT_TIMEOUT_S, retry=True):
        """One intended write, repeated (the same call) until it is answered. True when the
        caller got the answer."""
        timeout = first_timeout
        for _ in range(MAX_ATTEMPTS if retry else 1):
            outcome, detail = self.post(mailbox, folder, timeout)
            if outcome == "ok":
                return True
            if outcome == "error":
                failures.append(f"{self.token} mailbox {mailbox} {folder}: {detail}")
                return False
            timeout = CLIENT_TIMEOUT_S
            time.sleep(0.1)
        return False


class Expect:
    """What the API must have seen, per (token, mailbox)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sequences = {}  # (token, mailbox) -> [folder], in order: exactly these
        self.sets = {}  # (token, mailbox) -> {folder: must (True) or may (False)}

    def sequence(self, token, mailbox, folders):
        with self.lock:
            self.sequences[(token, mailbox)] = list(folders)

    def one_of(self, token, mailbox, folder, answered):
        with self.lock:
            self.sets.setdefault((token, mailbox), {})[folder] = answered


def invite(port, token, n):
    """One create_invite (one recipient) through the load balancer: the tool result's text and
    whether it is an error."""
    msg = {
        "jsonrpc": "2.0", "id": n, "method": "tools/call",
        "params": {"name": "create_invite", "arguments": {
            "domain_id": 1, "local_part": f"new{n}", "recipient_email": f"person{n}@example.com",
        }},
    }
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25",
        "authorization": f"Bearer {token}",
    }
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S)
    try:
        conn.request("POST", "/mcp", json.dumps(msg), headers)
        answer = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    result = answer.get("result") or {}
    text = " ".join(c.get("text", "") for c in result.get("content", []))
    return text or json.dumps(answer.get("error")), bool(result.get("isError") or "error" in answer)


def token_of(c):
    return f"tm_live_scale{c:04d}abcdefghij"


def scenarios(caller, expect, base):
    """One round of every pattern on the caller's own mailboxes `base`+1..5."""
    t = caller.token
    # A, B, A: three writes.
    for f in ["a", "b", "a"]:
        check(caller.intent(base + 1, f), f"{t} {base + 1} {f} answered")
    expect.sequence(t, base + 1, ["a", "b", "a"])
    # A plain retry after a client timeout: the API is slow, the caller gives up and repeats.
    check(caller.intent(base + 2, "slow-x", first_timeout=0.3), f"{t} {base + 2} answered")
    expect.sequence(t, base + 2, ["slow-x"])
    # Concurrent identical calls (one intent, sent twice at once, maybe to two replicas).
    other = Caller(caller.port, t, caller.stats)
    th = threading.Thread(target=other.intent, args=(base + 3, "c"))
    th.start()
    check(caller.intent(base + 3, "c"), f"{t} {base + 3} c answered")
    th.join()
    expect.sequence(t, base + 3, ["c"])
    # Concurrent different writes to one target: both happen. Not repeated: a repeat after
    # the other write is, by the rules, a new intent.
    got = {}
    th = threading.Thread(target=lambda: got.__setitem__("e", other.intent(base + 4, "e", retry=False)))
    th.start()
    got["d"] = caller.intent(base + 4, "d", retry=False)
    th.join()
    for f in ["d", "e"]:
        expect.one_of(t, base + 4, f, got[f])
    # A, A: one write.
    for _ in range(2):
        check(caller.intent(base + 5, "f"), f"{t} {base + 5} f answered")
    expect.sequence(t, base + 5, ["f"])


def run_callers(port, stats, expect, rounds, base):
    threads = []
    for c in range(CALLERS):
        caller = Caller(port, token_of(c), stats)

        def work(caller=caller):
            for r in range(rounds):
                scenarios(caller, expect, base + 10 * r)

        threads.append(threading.Thread(target=work))
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=max(1, HARNESS_DEADLINE_S - (time.monotonic() - START)))
    check(all(not th.is_alive() for th in threads), "every caller finished in time")


def metrics(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S)
    try:
        conn.request("GET", "/metrics")
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def tls_phase(parts, tls, stats, expect):
    """The intent memory in a TLS-only Redis behind a private CA: A on one replica, B on the
    other, A on the first again reaches the API three times for every caller (each replica
    alone would take the second A for a retry of the first). A replica without the CA does not
    trust the store: its write is refused with nothing sent, and /metrics counts the failure."""
    parts.start_tls_redis(tls)
    ca = os.path.join(tls, "ca.pem")
    ports = [parts.start_tls_replica(f"tls-replica{i}", ca) for i in range(2)]
    untrusting = parts.start_tls_replica("tls-replica-no-ca", None)
    for c in range(4):
        token = token_of(100 + c)
        on = [Caller(p, token, stats) for p in ports]
        for i, f in [(0, "a"), (1, "b"), (0, "a")]:
            check(on[i].intent(30000, f), f"rediss: {token} 30000 {f} answered")
        expect.sequence(token, 30000, ["a", "b", "a"])
    outcome, detail = Caller(untrusting, token_of(200), stats).post(30001, "x", CLIENT_TIMEOUT_S)
    check(outcome == "retryable" and "TLS" in str(detail),
          f"rediss without the CA: the write is refused, naming TLS, got {outcome}: {detail}")
    text = metrics(untrusting)
    counted = [l for l in text.splitlines() if l.startswith('trekmail_mcp_state_errors_total{operation="intent",kind="tls"}')]
    check(bool(counted), f"rediss without the CA: the failure is in /metrics:\n{text}")
    print(f"rediss: A, B, A kept across two replicas through a TLS-only Redis (private CA); "
          f"without the CA refused and counted: {counted}", flush=True)


def verify(api, expect):
    seen = {}
    for token, mailbox, folder, _ in api.effects:
        seen.setdefault((token, mailbox), []).append(folder)
    for k, want in expect.sequences.items():
        got = seen.get(k, [])
        check(got == want, f"{k}: the API saw {got}, intended {want}")
    for k, folders in expect.sets.items():
        got = seen.get(k, [])
        for folder, answered in folders.items():
            n = got.count(folder)
            ok = n == 1 if answered else n <= 1
            check(ok, f"{k}: {folder} reached the API {n} times (answered: {answered})")
    known = set(expect.sequences) | set(expect.sets)
    stray = [k for k in seen if k not in known]
    check(not stray, f"writes nobody intended: {stray[:5]}")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: drive.py BINARY TLS_DIR")
    binary = os.path.abspath(sys.argv[1])
    tls = os.path.abspath(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix="trekmail-scale-")
    parts = Parts(binary, tmp)
    api = Api()
    api_srv = api_server(api, parts.api_port)
    stats = Stats()
    expect = Expect()
    sampling = threading.Event()

    def sampler():
        while not sampling.is_set():
            parts.sample_rss()
            time.sleep(0.1)

    try:
        parts.start_redis()
        for i in range(3):
            parts.start_replica(i)
        parts.start_haproxy()
        time.sleep(0.5)  # the first health checks
        threading.Thread(target=sampler, daemon=True).start()
        if failures:
            raise SystemExit(1)

        # 1. Steady: every pattern, many callers at once, across replicas.
        t0 = time.monotonic()
        run_callers(parts.lb_port, stats, expect, rounds=2, base=0)
        steady_s = time.monotonic() - t0
        steady_calls = len(stats.latencies)
        print(f"steady: {steady_calls} answered calls in {steady_s:.1f} s", flush=True)

        # 2. Faults while the callers run: a replica killed and restarted, then Redis killed
        #    and restarted from its append-only file.
        def faults():
            time.sleep(0.7)
            parts.sample_rss()
            print("fault: SIGKILL replica 1", flush=True)
            parts.kill(parts.replicas[1])
            time.sleep(1.0)
            parts.start_replica(1)
            print("fault: replica 1 restarted", flush=True)
            time.sleep(1.0)
            print("fault: SIGKILL redis", flush=True)
            parts.kill(parts.redis)
            time.sleep(0.7)
            parts.start_redis()
            print("fault: redis restarted from its append-only file", flush=True)

        f = threading.Thread(target=faults)
        f.start()
        run_callers(parts.lb_port, stats, expect, rounds=4, base=1000)
        f.join()

        # 3. The store remembers across its restart: A, B, Redis killed and restarted, A again
        #    must reach the API (a store that forgot would let the API replay A's first answer).
        callers = [Caller(parts.lb_port, token_of(c), stats) for c in range(CALLERS)]
        for c in callers:
            for f_ in ["a", "b"]:
                check(c.intent(9000, f_), f"{c.token} 9000 {f_}")
        print("restart: SIGKILL redis, then restart from its append-only file", flush=True)
        parts.kill(parts.redis)
        parts.start_redis()
        for c in callers:
            check(c.intent(9000, "a"), f"{c.token} 9000 a again")
            expect.sequence(c.token, 9000, ["a", "b", "a"])

        # 4. Throughput: distinct writes from every caller at once for a few seconds.
        n0 = len(stats.latencies)
        t0 = time.monotonic()
        stop_at = t0 + 4.0

        def load(c):
            caller = Caller(parts.lb_port, token_of(c), stats)
            i = 0
            while time.monotonic() < stop_at:
                i += 1
                caller.intent(20000 + i, "load")
                expect.sequence(caller.token, 20000 + i, ["load"])

        threads = [threading.Thread(target=load, args=(c,)) for c in range(CALLERS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        load_s = time.monotonic() - t0
        load_calls = len(stats.latencies) - n0
        parts.sample_rss()
        sampling.set()

        # 5. TREKMAIL_SEND_RATE is one budget for the deployment: invitations from two callers,
        #    round robin over the three replicas, stop at the rate (per-process counting would
        #    let each replica send its own 5), refused with the time the budget frees.
        outcomes = [invite(parts.lb_port, token_of(n % 2), n) for n in range(SEND_RATE + 4)]
        sent = [t for t, err in outcomes if not err]
        refused = [t for t, err in outcomes if err]
        check(len(sent) == SEND_RATE and api.invites == SEND_RATE,
              f"send rate: {len(sent)} answered, {api.invites} reached the API, {SEND_RATE} allowed")
        check(all("TREKMAIL_SEND_RATE" in t and "frees" in t for t in refused),
              f"send rate refusals name the variable and when the budget frees: {refused[:1]}")
        print(f"send rate: {len(sent)} invitations sent, {len(refused)} refused across replicas", flush=True)

        # 6. rediss://: the store over TLS, its certificate from a private CA.
        tls_phase(parts, tls, stats, expect)

        verify(api, expect)

        lat = sorted(stats.latencies)
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
        print("== figures (debug or release binary as given; loopback; 2-core machine shared)")
        print(f"answered calls: {len(lat)}; API requests {api.requests}, side effects {len(api.effects)}, "
              f"replayed {api.replays}, key conflicts {api.conflicts}")
        print(f"throughput phase: {load_calls / load_s:.0f} calls/s ({CALLERS} callers, {load_s:.1f} s)")
        print(f"latency of answered calls: p50 {p(0.50):.1f} ms, p99 {p(0.99):.1f} ms, max {lat[-1] * 1000:.0f} ms")
        print(f"errors seen by callers (each retried): {dict(sorted(stats.errors.items())) or 'none'}")
        for i, kb in enumerate(parts.peak_rss_kb):
            print(f"peak RSS replica {i}: {kb / 1024:.1f} MiB")
        check(api.conflicts == 0, "no key was reused for a different request")
    finally:
        sampling.set()
        parts.stop()
        api_srv.shutdown()
        if failures:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    took = time.monotonic() - START
    print(f"harness took {took:.1f} s")
    if failures:
        print(f"{len(failures)} failed checks")
        sys.exit(1)
    print("every intended write reached the API exactly once")


if __name__ == "__main__":
    main()
