"""Soak: 64 clients against one `hotrod serve` for HOTROD_SOAK_SECONDS (default 45: a fifth of it warm-up, then the
measured run; about 80 s in all on 2 shared cores, with the alone answers and the last requests' queueing), each
looping over a random mix: plain, streamed and json_schema chat at temperature 0, clients that leave mid-stream or
before a non-streamed reply, invalid requests, clients that dribble their headers (in time, or
past --header-timeout) and oversized bodies.

Pass: every completed answer equals the answer its prompt got alone (computed first, one at a time, on the same
server: the CPU backend's batched == alone makes this exact), every schema answer validates, every invalid request
gets its 4xx, no 5xx, no request without an answer or an error; then the server is healthy, /metrics shows no busy
slot, nothing in flight or queued, no KV block held outside the prefix cache, each leaver counted 499 and each
answer 200, and its RSS is within 10% of the RSS after warm-up. The figures are printed (pytest -s shows them)."""

import concurrent.futures as cf
import json
import os
import random
import select
import socket
import threading
import time

import jsonschema
import openai
import pytest

from conftest import SMOLLM2, Server, client_of, http, wait_for
from test_endpoints import parse_metrics

pytestmark = pytest.mark.soak

SECONDS = float(os.environ.get("HOTROD_SOAK_SECONDS", "45"))
N_CLIENTS = 64
MAX_TOKENS = 24
HEADER_TIMEOUT_S = 5
MAX_BODY_BYTES = 1 << 20
PROMPTS = [f"Write one sentence about the number {n}." for n in (3, 7, 12, 25, 40, 64, 99, 128)]
SCHEMA = {"type": "object", "properties": {"phase": {"enum": ["planning", "testing", "debugging"]},
                                           "urgent": {"type": "boolean"}},
          "required": ["phase", "urgent"], "additionalProperties": False}
SCHEMA_PROMPTS = ["Classify: the tests fail on main.", "Classify: we draw the plan for next week.",
                  "Classify: a crash in production, customers wait."]
SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "c", "schema": SCHEMA}}
# What each kind of client does, and how often.
MIX = [("plain", 24), ("stream", 18), ("schema", 14), ("leave_stream", 7), ("leave_plain", 6), ("invalid", 14),
       ("dribble_ok", 6), ("dribble_late", 3), ("oversized", 4), ("health", 4)]
INVALID = [  # (method, path, body, expected status)
    ("POST", "/v1/chat/completions", {"messages": [{"role": "robot", "content": "hi"}]}, 400),
    ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "n": 2}, 400),
    ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}, 400),
    ("POST", "/v1/chat/completions", b"{", 400),
    ("POST", "/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}, 404),
    ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 8190}, 400),
    ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "word " * 9000}]}, 400),
    ("GET", "/v1/chat/completions", None, 405),
    ("POST", "/v1/completions", {"prompt": [1, 10**8]}, 400),
]


def chat_body(prompt, **kw):
    return {"model": "smollm2", "messages": [{"role": "user", "content": prompt}], "max_tokens": MAX_TOKENS,
            "temperature": 0, **kw}


def request_bytes(body, path="/v1/chat/completions"):
    data = json.dumps(body).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode()
    return head, data


def read_response(sock, timeout=300):
    """(status, body bytes) of the one response on a Connection: close socket; status None when none came."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    if not data.startswith(b"HTTP/1.1 "):
        return None, data
    head, _, body = data.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():  # de-chunk
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2:]
        body = out
    return int(data[9:12]), body


class Soak:
    def __init__(self, server, alone, schema_alone):
        self.server = server
        self.client = client_of(server)
        self.alone = alone
        self.schema_alone = schema_alone
        self.lock = threading.Lock()
        self.counts = {}
        self.failures = []

    def note(self, kind, outcome, detail=None):
        with self.lock:
            self.counts[(kind, outcome)] = self.counts.get((kind, outcome), 0) + 1
            if outcome not in ("ok", "left", "invalid") and len(self.failures) < 20:
                self.failures.append((kind, outcome, detail))

    def total(self, outcome=None, kinds=None):
        return sum(n for (k, o), n in self.counts.items()
                   if (outcome is None or o == outcome) and (kinds is None or k in kinds))

    # --- one request of each kind: returns (outcome, detail); outcome ok / left / invalid / wrong / 5xx / lost
    def plain(self, rng):
        p = rng.choice(PROMPTS)
        got = self.client.chat.completions.create(**chat_body(p)).choices[0].message.content
        return ("ok", None) if got == self.alone[p] else ("wrong", (p, got, self.alone[p]))

    def stream(self, rng):
        p = rng.choice(PROMPTS)
        got = "".join(c.choices[0].delta.content or "" for c in
                      self.client.chat.completions.create(**chat_body(p), stream=True) if c.choices)
        return ("ok", None) if got == self.alone[p] else ("wrong", (p, got, self.alone[p]))

    def schema(self, rng):
        p = rng.choice(SCHEMA_PROMPTS)
        got = self.client.chat.completions.create(**chat_body(p, max_tokens=48, response_format=SCHEMA_FORMAT))
        text = got.choices[0].message.content
        try:
            jsonschema.validate(json.loads(text), SCHEMA)
        except (ValueError, jsonschema.ValidationError) as e:
            return "wrong", (p, text, str(e))
        return ("ok", None) if text == self.schema_alone[p] else ("wrong", (p, text, self.schema_alone[p]))

    def leave_stream(self, rng):
        stream = self.client.chat.completions.create(**chat_body(rng.choice(PROMPTS), max_tokens=300), stream=True,
                                                     extra_body={"ignore_eos": True})
        for i, _ in enumerate(stream):
            if i == 2:
                break
        stream.response.close()
        return "left", None

    def leave_plain(self, rng):
        """Leaves as soon as its non-streamed request is sent: the server writes nothing until the reply is whole and
        watches the socket meanwhile. Closed normally (not reset), so the request is still read, queued and found
        gone (499)."""
        head, data = request_bytes(chat_body(rng.choice(PROMPTS), max_tokens=300, ignore_eos=True))
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=300) as s:
            s.sendall(head + data)
        return "left", None

    def invalid(self, rng):
        method, path, body, want = rng.choice(INVALID)
        status, _, reply = http(method, self.server.url + path, body, timeout=300)
        if status >= 500:
            return "5xx", (path, status, reply[:200])
        if status != want or "error" not in json.loads(reply):
            return "wrong", (path, body if not isinstance(body, dict) else list(body), status, reply[:200])
        return "invalid", None

    def dribble(self, rng, late):
        """Headers a few bytes at a time: within --header-timeout the request is served (its answer checked), past
        it (stalled halfway) the server answers 408."""
        p = rng.choice(PROMPTS)
        head, data = request_bytes(chat_body(p))
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=300) as s:
            if late:
                s.sendall(head[:len(head) // 2])  # and nothing more: the server must time it out
                status, reply = read_response(s)
                if status is None:
                    return "lost", ("no 408", reply[:200])
                return ("invalid", None) if status == 408 else ("wrong", (status, reply[:200]))
            pieces = [head[i:i + 16] for i in range(0, len(head), 16)]
            for piece in pieces:
                s.sendall(piece)
                time.sleep(0.5 / len(pieces))  # 0.5 s in all, well within HEADER_TIMEOUT_S
            s.sendall(data)
            status, reply = read_response(s)
        if status is None:
            return "lost", ("no answer", reply[:200])
        if status >= 500:
            return "5xx", (status, reply[:200])
        got = json.loads(reply)["choices"][0]["message"]["content"] if status == 200 else None
        return ("ok", None) if got == self.alone[p] else ("wrong", (p, status, got, self.alone[p]))

    def oversized(self, rng):
        body = b'{"messages": [{"role": "user", "content": "' + b"a" * (MAX_BODY_BYTES + 1000) + b'"}]}'
        status, _, reply = http("POST", self.server.url + "/v1/chat/completions", body, timeout=300)
        if status >= 500:
            return "5xx", (status, reply[:200])
        return ("invalid", None) if status == 413 else ("wrong", (status, reply[:200]))

    def health(self, rng):
        status, _, reply = http("GET", self.server.url + "/health", timeout=300)
        return ("ok", None) if status == 200 else ("5xx" if status >= 500 else "wrong", (status, reply[:200]))

    def one(self, rng):
        kind = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
        try:
            if kind in ("dribble_ok", "dribble_late"):
                outcome, detail = self.dribble(rng, kind == "dribble_late")
            else:
                outcome, detail = getattr(self, kind)(rng)
        except openai.APIStatusError as e:
            outcome, detail = ("5xx" if e.status_code >= 500 else "wrong"), (e.status_code, str(e)[:200])
        except (openai.APIConnectionError, OSError) as e:
            outcome, detail = "lost", repr(e)[:200]
        except Exception as e:  # a reply that does not parse, or anything else unforeseen
            outcome, detail = "wrong", repr(e)[:200]
        self.note(kind, outcome, detail)

    def run(self, seconds, seed):
        deadline = time.time() + seconds

        def loop(i):
            rng = random.Random(seed * 1000 + i)
            while time.time() < deadline:
                self.one(rng)

        with cf.ThreadPoolExecutor(max_workers=N_CLIENTS) as pool:
            for f in [pool.submit(loop, i) for i in range(N_CLIENTS)]:
                f.result()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def settled(server):
    """The /metrics sample once nothing is running, queued, in flight or held, else None."""
    m, _ = parse_metrics(server.metrics())
    idle = (m["hotrod_busy_slots"] == 0 and m["hotrod_requests_in_flight"] == 0 and m["hotrod_queue_depth"] == 0
            and m["hotrod_kv_blocks_used"] == 0 and m["hotrod_http_connections"] == 1)  # 1: this request
    return m if idle else None


def test_soak():
    server = Server(SMOLLM2, "--parallel", "8", "-c", "8192", "--alias", "smollm2", "--max-queue", "256",
                    "--threads-http", "96", "--max-body-bytes", str(MAX_BODY_BYTES),
                    "--header-timeout", str(HEADER_TIMEOUT_S)).wait_ready()
    try:
        started = time.time()
        m0, _ = parse_metrics(server.metrics())  # /health's 503s while loading are not the soak's
        client = client_of(server)
        alone = {p: client.chat.completions.create(**chat_body(p)).choices[0].message.content for p in PROMPTS}
        schema_alone = {p: client.chat.completions.create(**chat_body(p, max_tokens=48, response_format=SCHEMA_FORMAT))
                        .choices[0].message.content for p in SCHEMA_PROMPTS}
        for p, text in schema_alone.items():
            jsonschema.validate(json.loads(text), SCHEMA)
        soak = Soak(server, alone, schema_alone)
        marks = [time.time()]

        warmup_s = max(5.0, SECONDS / 5)
        soak.run(warmup_s, seed=1)
        wait_for("the server idle after warm-up", lambda: settled(server))
        rss_before = rss_kib(server.proc.pid)
        marks.append(time.time())
        soak.run(SECONDS - warmup_s, seed=2)
        m = wait_for("the server idle after the soak", lambda: settled(server))
        rss_after = rss_kib(server.proc.pid)
        marks.append(time.time())

        healthy = http("GET", server.url + "/health")[0] == 200
        still_right = client.chat.completions.create(**chat_body(PROMPTS[0])).choices[0].message.content
        n_left = soak.total("left")
        answered = soak.total("ok", {"plain", "stream", "schema", "dribble_ok"})
        def count(key):
            return m.get(key, 0) - m0.get(key, 0)

        chat_200 = count('hotrod_requests_total{endpoint="chat",status="200"}')
        chat_499 = count('hotrod_requests_total{endpoint="chat",status="499"}')
        server_5xx = {k: count(k) for k in m if k.startswith("hotrod_requests_total") and 'status="5' in k
                      and count(k)}
        print(f"\nsoak: {N_CLIENTS} clients, {SECONDS:.0f} s ({warmup_s:.0f} s warm-up), "
              f"{time.time() - started:.0f} s in all: requests {soak.total()}, ok {soak.total('ok')}, "
              f"left {n_left}, invalid {soak.total('invalid')}, wrong {soak.total('wrong')}, "
              f"5xx {soak.total('5xx')}, lost {soak.total('lost')}; RSS {rss_before // 1024} MiB after warm-up, "
              f"{rss_after // 1024} MiB after ({100.0 * (rss_after - rss_before) / rss_before:+.1f}%)")
        print(f"soak: alone answers {marks[0] - started:.0f} s, warm-up until idle {marks[1] - marks[0]:.0f} s, "
              f"run until idle {marks[2] - marks[1]:.0f} s")
        print("soak: by kind:", {f"{k}:{o}": n for (k, o), n in sorted(soak.counts.items())})
        print(f"soak: /metrics: chat 200 {chat_200:.0f}, chat 499 {chat_499:.0f}, 5xx {sum(server_5xx.values()):.0f}, "
              f"KV blocks cached {m['hotrod_kv_blocks_cached']:.0f} of {m['hotrod_kv_blocks_total']:.0f}, "
              f"preemptions {m['hotrod_preemptions_total']:.0f}")
        backend = {k[len("hotrod_backend_"):-len("_total")]: v for k, v in m.items() if k.startswith("hotrod_backend_")}
        if backend:  # a GPU's CUDA graphs: captures after warm-up would show as RSS growth
            print("soak: backend counters:", {k: int(v) for k, v in sorted(backend.items())})

        assert not soak.failures, soak.failures
        assert soak.total("wrong") == 0 and soak.total("5xx") == 0 and soak.total("lost") == 0
        assert not server_5xx, server_5xx
        assert healthy and still_right == alone[PROMPTS[0]]
        # The server's count agrees with the clients': each leaver 499, each answer (and the alone ones) 200.
        assert chat_499 == n_left
        assert chat_200 == len(PROMPTS) + len(SCHEMA_PROMPTS) + answered
        assert abs(rss_after - rss_before) <= 0.10 * rss_before, (rss_before, rss_after)
    finally:
        assert server.stop() == 0, server.log_path.read_text()[-3000:]
