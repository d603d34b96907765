"""The e2e soak's client mix (tests/e2e/test_soak.py) against `hotrod serve` and then against llama-server (its CPU
build, ../shared/tools/build-llama-ref), same model, same settings where both have them, one after the other on
this machine: availability and errors, not exactness (llama-server's batched answers need not equal its answers
alone). It measures and prints; it asserts nothing.

    .venv/bin/python bench/soak_vs_llama_server.py [--seconds 45] [--llama-server PATH] [--model GGUF]

Outcomes per request kind, as the soak counts them: ok (answered; for chat, the same text as the prompt's answer
alone), left (a client that left), invalid (a bad request refused with the expected 4xx), wrong (another status
or text), 5xx, lost (no answer at all). The expected statuses are hotrod's (e.g. 404 for an unknown model, 413
for an oversized body, 408 for headers stalled past the timeout); a server that serves such a request instead
shows it under wrong."""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import test_soak as soak_mod  # noqa: E402  (the soak's clients, reused as they are)
from conftest import SMOLLM2, Server, client_of, http  # noqa: E402


class Peer:
    """llama-server on a free port, shaped like conftest.Server for the soak's clients."""

    def __init__(self, binary, model, port=18190):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = Path(f"/tmp/soak-llama-server-{port}.log")
        self.proc = subprocess.Popen(
            [binary, "-m", str(model), "--host", "127.0.0.1", "--port", str(port), "--parallel", "8", "-c", "8192",
             "-t", str(os.cpu_count()), "--timeout", str(soak_mod.HEADER_TIMEOUT_S), "--threads-http", "96"],
            stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.time() + 300
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama-server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if http("GET", self.url + "/health", timeout=5)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("llama-server did not become healthy in 300 s")

    def stop(self):
        self.proc.terminate()
        return self.proc.wait(timeout=60)


def rss_mib(pid):
    return soak_mod.rss_kib(pid) // 1024


def run_one(name, server, seconds):
    client = client_of(server)
    started = time.time()
    alone = {p: client.chat.completions.create(**soak_mod.chat_body(p)).choices[0].message.content
             for p in soak_mod.PROMPTS}
    schema_alone = {p: client.chat.completions.create(**soak_mod.chat_body(
        p, max_tokens=48, response_format=soak_mod.SCHEMA_FORMAT)).choices[0].message.content
        for p in soak_mod.SCHEMA_PROMPTS}
    s = soak_mod.Soak(server, alone, schema_alone)
    warmup = max(5.0, seconds / 5)
    s.run(warmup, seed=1)
    rss_before = rss_mib(server.proc.pid)
    t0 = time.time()
    s.run(seconds - warmup, seed=2)
    run_s = time.time() - t0
    time.sleep(2)
    rss_after = rss_mib(server.proc.pid)
    healthy = False
    try:
        healthy = http("GET", server.url + "/health", timeout=30)[0] == 200
    except OSError:
        pass
    print(f"\n{name}: {soak_mod.N_CLIENTS} clients, {seconds:.0f} s ({warmup:.0f} s warm-up), "
          f"{time.time() - started:.0f} s in all (the measured part {run_s:.0f} s until its last request)")
    print(f"{name}: requests {s.total()}, ok {s.total('ok')}, left {s.total('left')}, invalid {s.total('invalid')}, "
          f"wrong {s.total('wrong')}, 5xx {s.total('5xx')}, lost {s.total('lost')}; healthy after: {healthy}; "
          f"RSS {rss_before} MiB after warm-up, {rss_after} MiB after")
    kinds = sorted({k for k, _ in s.counts})
    for k in kinds:
        row = ", ".join(f"{o} {n}" for (kk, o), n in sorted(s.counts.items()) if kk == k)
        print(f"  {k:13s} {row}")
    for kind, outcome, detail in s.failures[:6]:
        print(f"  e.g. {kind} {outcome}: {str(detail)[:160]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=45)
    ap.add_argument("--model", default=str(SMOLLM2))
    ap.add_argument("--llama-server", default=str(Path.home() / ".cache/hotrod/llama-ref/build/bin/llama-server"))
    a = ap.parse_args()

    server = Server(a.model, "--parallel", "8", "-c", "8192", "--alias", "smollm2", "--max-queue", "256",
                    "--threads-http", "96", "--max-body-bytes", str(soak_mod.MAX_BODY_BYTES),
                    "--header-timeout", str(soak_mod.HEADER_TIMEOUT_S)).wait_ready()
    try:
        run_one("hotrod", server, a.seconds)
    finally:
        server.stop()
    if not Path(a.llama_server).exists():
        print(f"\nllama-server: {a.llama_server} not found (../shared/tools/build-llama-ref builds it)")
        return
    peer = Peer(a.llama_server, a.model)
    try:
        run_one("llama-server", peer, a.seconds)
    finally:
        print(f"llama-server exit {peer.stop()}")


if __name__ == "__main__":
    main()
