"""Three `hotrod serve` replicas behind nginx, configured by the shipped deploy/nginx/hotrod.conf (issue 17): nginx
runs as the current user from a temporary prefix, its replica list and listen port the only lines written here.

Three runs of 200 requests (40 conversations of 5 turns, each turn sending the history before it; 8 conversations
at once): keyed by X-Session-Id (consistent hashing), then without a key through a second nginx whose unkeyed group
has the least_conn line taken out (round-robin, the baseline), each on fresh conversations, with the prefix-cache
counters of every replica's /metrics compared; then keyed again, turns 2 and 4 of each conversation streamed (80
streams, 120 non-streamed requests), while one replica is killed (SIGKILL) during a stream it serves once a quarter of
the requests have ended, and another is drained (SIGTERM) during one of its own once half have. Every non-streamed
request must be answered; a stream may fail only if the killed replica served it, and then the client sees the
connection end before [DONE] (nginx cannot add an SSE error event to a stream whose upstream died). Figures go to
stdout (-s) and $HOTROD_BUILD_DIR/nginx-replicas-report.json.

The machine may have two shared cores: replicas run --threads 1, replies are a few tokens, and time limits bound
only liveness."""

import concurrent.futures
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import openai
import pytest

from conftest import BUILD_DIR, REPO, SMOLLM2, Server, _missing

pytestmark = pytest.mark.slow

DEPLOY = REPO / "deploy" / "nginx"
MODEL = "SmolLM2-135M-Instruct.Q4_1"
N_CONVERSATIONS, N_TURNS, N_IN_FLIGHT = 40, 5, 8
WORDS = ("amber basalt cedar delta ember fjord garnet harbor indigo juniper kelp lagoon meadow nickel orchid pebble "
         "quartz raven saffron tundra umber violet willow xenon yarrow zephyr").split()
LIVENESS_S = 120  # one request; only a hung replica or proxy comes near it


def conversation(run, n):
    """A system prompt of its own (so only this conversation's earlier turns can be cached) and five turns."""
    rng = random.Random(f"{run}-{n}")
    system = f"Team {run}-{n}: " + " ".join(rng.choice(WORDS) for _ in range(8)) + "."
    turns = [(f"{rng.choice(WORDS)}?", f"{rng.choice(WORDS)}.") for k in range(N_TURNS)]
    return system, turns


def messages_of(system, turns, k):
    m = [{"role": "system", "content": system}]
    for user, answer in turns[:k]:
        m += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return m + [{"role": "user", "content": turns[k][0]}]


def metric(text, name):
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def free_port():
    # nginx cannot report a port the kernel picked; a port free a moment ago is retried if it is taken meanwhile.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_exe():
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not exe:
        _missing("nginx (Debian's package, installed by scripts/test.sh)")
    return exe


class Nginx:
    """nginx from a temporary prefix, in the foreground, running the shipped hotrod.conf."""

    def __init__(self, replica_ports, round_robin=False):
        exe = nginx_exe()
        self.dir = Path(tempfile.mkdtemp(prefix="e2e-nginx-", dir=BUILD_DIR))
        (self.dir / "hotrod-replicas.conf").write_text("".join(
            f"server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in replica_ports))
        shipped = (DEPLOY / "hotrod.conf").read_text()
        for attempt in range(5):
            self.port = free_port()
            conf, n = re.subn(r"^(\s*)listen 8080;", rf"\g<1>listen 127.0.0.1:{self.port};", shipped, flags=re.M)
            assert n == 1, "deploy/nginx/hotrod.conf: no 'listen 8080;' line to point at the test's port"
            if round_robin:  # the baseline: the unkeyed group without least_conn is nginx's default, round-robin
                conf, n = re.subn(r"^\s*least_conn;\n", "", conf, flags=re.M)
                assert n == 1
            (self.dir / "hotrod.conf").write_text(conf)
            self._write_main_conf()
            self.proc = subprocess.Popen([exe, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"),
                                          "-e", str(self.dir / "error.log"), "-g", "daemon off;"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            if self._wait_listening():
                self.url = f"http://127.0.0.1:{self.port}"
                return
        raise RuntimeError("nginx did not start: " + self.error_log())

    def _write_main_conf(self):
        d = self.dir
        # Root's workers would run as nobody, who cannot enter this 0700 directory.
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = "".join(f"{k}_temp_path {d / k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (d / "nginx.conf").write_text(f"""{user}worker_processes 1;
pid {d / 'nginx.pid'};
error_log {d / 'error.log'} warn;
events {{ worker_connections 512; }}
http {{
{temp}log_format replicas '$http_x_test_id $status $upstream_addr $upstream_status';
access_log {d / 'access.log'} replicas;
include hotrod.conf;
}}
""")

    def _wait_listening(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False  # the port was taken meanwhile, most likely: try another
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        return False

    def error_log(self):
        p = self.dir / "error.log"
        return p.read_text() if p.exists() else ""

    def access_log(self):
        """{X-Test-Id: (status, [replica ports tried, in order])} of every request logged so far."""
        out = {}
        for line in (self.dir / "access.log").read_text().splitlines():
            test_id, status, addrs = line.split(" ", 2)
            out[test_id] = (status, [int(a.rsplit(":", 1)[1]) for a in re.findall(r"127\.0\.0\.1:\d+", addrs)])
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: workers finish what they serve
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def ask(client, run, n, k, system, turns, stream, on_first_chunk=None):
    """One turn through nginx: (test id, "ok", text), or "broken" and why for a stream that ended early, or "lost"
    and why for a non-streamed request that got no answer."""
    test_id = f"{run}-{n}-{k}"
    kwargs = dict(model=MODEL, messages=messages_of(system, turns, k), temperature=0,
                  extra_headers={"X-Test-Id": test_id} if run == "round_robin"
                  else {"X-Session-Id": f"conversation-{n}", "X-Test-Id": test_id})
    if not stream:
        try:
            r = client.chat.completions.create(max_tokens=4, **kwargs)
        except Exception as e:  # noqa: BLE001 - reported as a lost request
            return test_id, "lost", f"{type(e).__name__}: {e}"
        assert r.choices[0].finish_reason in ("stop", "length"), r
        return test_id, "ok", r.choices[0].message.content
    text, finish = "", None
    try:
        # Long enough to be running when a replica is stopped under it.
        for chunk in client.chat.completions.create(max_tokens=24, stream=True, extra_body={"ignore_eos": True},
                                                    **kwargs):
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                finish = chunk.choices[0].finish_reason or finish
                if on_first_chunk and text:
                    on_first_chunk(n)
                    on_first_chunk = None
    except Exception as e:  # noqa: BLE001 - whatever the client raises for a cut connection is the finding
        cause = f" <- {type(e.__cause__).__name__}: {e.__cause__}" if e.__cause__ else ""
        return test_id, "broken", f"{type(e).__name__}: {e}{cause}"
    if finish is None:
        return test_id, "broken", "the stream ended without a finish_reason"
    return test_id, "ok", text


def run_conversations(client, run, streamed=lambda n, k: False, on_first_chunk=None, progress=None):
    """N_CONVERSATIONS conversations of N_TURNS turns, N_IN_FLIGHT at once; each turn waits for the one before.
    progress, a list, gets an item for each request that has ended."""
    def one(n):
        system, turns = conversation(run, n)
        out = []
        for k in range(N_TURNS):
            out.append(ask(client, run, n, k, system, turns, streamed(n, k), on_first_chunk))
            if progress is not None:
                progress.append(k)  # one bytecode: safe across the pool's threads
        return out

    with concurrent.futures.ThreadPoolExecutor(N_IN_FLIGHT) as pool:
        return [r for rs in pool.map(one, range(N_CONVERSATIONS)) for r in rs]


def cache_counters(replicas):
    out = {}
    for r in replicas:
        text = r.metrics()
        out[r.port] = {k: metric(text, f"hotrod_{k}") for k in
                       ("prefix_cache_hits_total", "prefix_cache_lookups_total", "cached_tokens_total",
                        "prompt_tokens_total")}
    return out


def delta(after, before):
    total = {k: sum(after[p][k] - before[p][k] for p in after) for k in next(iter(after.values()))}
    # Lookups stop at a prompt's first missing block, so hits over lookups says little; the share of prompt tokens
    # the cache served is the figure to compare.
    total["cached_share"] = round(total["cached_tokens_total"] / max(1.0, total["prompt_tokens_total"]), 3)
    return total


@pytest.fixture
def replicas():
    nginx_exe()  # skip (or fail) before starting anything
    started = []
    try:
        for _ in range(3):
            started.append(Server(SMOLLM2, "--threads", "1", "--parallel", "4", "-c", "8192",
                                  "--drain-timeout", "60"))
        for s in started:
            s.wait_ready()
        yield started
    finally:
        for s in started:
            s.stop()  # the killed and the drained ones have exited already


def test_nginx_consistent_hash_failover_and_drain(replicas):
    t0 = time.time()
    nginx = Nginx([r.port for r in replicas])
    nginx_rr = Nginx([r.port for r in replicas], round_robin=True)
    report = {}
    try:
        # 1 and 2: the same kind of traffic keyed (consistent hashing), then unkeyed through round-robin.
        for run, proxy in (("affine", nginx), ("round_robin", nginx_rr)):
            client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="none", max_retries=0, timeout=LIVENESS_S)
            before = cache_counters(replicas)
            results = run_conversations(client, run)
            assert len(results) == N_CONVERSATIONS * N_TURNS and all(r[1] == "ok" for r in results)
            report[run] = delta(cache_counters(replicas), before)
            report[run]["answered"] = len(results)
            report[run]["done_at_s"] = round(time.time() - t0, 1)
        nginx_rr.stop()
        assert report["affine"]["cached_share"] > 1.3 * report["round_robin"]["cached_share"], report
        assert report["affine"]["prefix_cache_hits_total"] > report["round_robin"]["prefix_cache_hits_total"], report

        # Which replica each conversation's key hashes to (the affine run's log): the failure run uses the same keys,
        # so it knows which streams run on the replica it kills.
        log = nginx.access_log()
        home = {n: log[f"affine-{n}-0"][1][-1] for n in range(N_CONVERSATIONS)}
        by_replica = {r.port: [n for n in home if home[n] == r.port] for r in replicas}
        report["affine"]["conversations_per_replica"] = sorted(len(v) for v in by_replica.values())
        assert all(by_replica.values()), f"a replica got no conversation: {by_replica}"
        killed, drained, survivor = sorted(replicas, key=lambda r: -len(by_replica[r.port]))

        # 3: once a quarter of the requests have ended, SIGKILL the replica writing a stream that has just begun; once
        # half have, SIGTERM another while a stream of its own runs. Turns 2 and 4 are streamed.
        events, lock, progress = {}, threading.Lock(), []

        def on_first_chunk(n):
            with lock:
                done = len(progress)
                if "killed_at" not in events and done >= 50 and home[n] == killed.port:
                    events["killed_at"] = (round(time.time() - t0, 1), done)
                    killed.proc.send_signal(signal.SIGKILL)
                elif "killed_at" in events and "drained_at" not in events and done >= 100 and home[n] == drained.port:
                    events["drained_at"] = (round(time.time() - t0, 1), done)
                    drained.proc.send_signal(signal.SIGTERM)

        client = openai.OpenAI(base_url=nginx.url + "/v1", api_key="none", max_retries=0, timeout=LIVENESS_S)
        results = run_conversations(client, "failover", streamed=lambda n, k: k % 2 == 1,
                                    on_first_chunk=on_first_chunk, progress=progress)
        assert "killed_at" in events and "drained_at" in events, events
        assert killed.proc.wait(timeout=LIVENESS_S) == -signal.SIGKILL
        assert drained.proc.wait(timeout=LIVENESS_S) == 0, drained.log_path.read_text()[-3000:]
        assert b"draining" in drained.log_path.read_bytes()
        log = nginx.access_log()
        assert not [r for r in results if r[1] == "lost"], [r for r in results if r[1] == "lost"]
        broken = [(test_id, why, log.get(test_id)) for test_id, status, why in results if status == "broken"]
        for test_id, why, logged in broken:
            # Only a stream the killed replica was writing may end early.
            assert logged and logged[1][-1] == killed.port, (test_id, why, logged, killed.port)
        # The drained replica's own log after SIGTERM: what it finished, and what it refused for nginx to retry.
        after_drain = drained.log_path.read_text().split("draining", 1)[1]
        failover = {tid: v for tid, v in log.items() if tid.startswith("failover-")}
        plain = [r for r in results if int(r[0].rsplit("-", 1)[1]) % 2 == 0]
        errors = nginx.error_log()
        report["failover"] = {
            "requests": len(results),
            "answered": sum(1 for r in results if r[1] == "ok"),
            "non_streamed_answered": sum(1 for r in plain if r[1] == "ok"),
            "non_streamed": len(plain),
            "streams_cut_on_killed_replica": len(broken),
            "what_the_client_saw": sorted({why for _, why, _ in broken}),
            "sent_to_another_replica_by_nginx": sum(1 for _, tried in failover.values() if len(tried) > 1),
            # nginx's error log tells a request the replica died under from one it refused afterwards.
            "nginx_upstream_died_before_header": errors.count("prematurely closed connection while reading "
                                                              "response header"),
            "nginx_upstream_died_mid_stream": errors.count("prematurely closed connection while reading upstream"),
            "nginx_connection_refused": errors.count("Connection refused"),
            "answered_by": {name: sum(1 for status, tried in failover.values() if tried and tried[-1] == r.port)
                            for name, r in (("killed", killed), ("drained", drained), ("survivor", survivor))},
            "killed_at_s_and_requests_done": events["killed_at"],
            "drained_at_s_and_requests_done": events["drained_at"],
            "drained_finished_while_draining": len(re.findall(r"finish=(?:stop|length)", after_drain)),
            "drained_refused_503_while_draining": after_drain.count("refused 503"),
            "drained_exit_code": drained.proc.returncode,
        }
        report["seconds_total"] = round(time.time() - t0, 1)
    finally:
        nginx.stop()
        nginx_rr.stop()
        (BUILD_DIR / "nginx-replicas-report.json").write_text(json.dumps(report, indent=2))
        print("\nnginx + 3 replicas:", json.dumps(report, indent=2))
