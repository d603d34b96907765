"""SIGTERM drains one replica (issue 17): while requests run, /health and new requests get 503 with Retry-After (a
load balancer moves on), running requests finish within --drain-timeout, and the server exits 0. A request the
deadline cuts short is answered 503 when nothing of it has been sent (non-streamed), so a proxy can retry it
elsewhere; a stream that has begun ends with an error event. test_nginx_replicas.py drains one behind nginx."""

import signal
import threading

import openai

from conftest import SMOLLM2, Server, http, wait_for
from test_errors import CHAT, OK, error_of

MODEL = "SmolLM2-135M-Instruct.Q4_1"
LONG = {"messages": [{"role": "user", "content": "Tell a long story."}], "temperature": 0, "ignore_eos": True}


def in_flight(s):
    for line in s.metrics().splitlines():
        if line.startswith("hotrod_requests_in_flight "):
            return float(line.split()[1])
    return 0


def start_then_sigterm(s, threads):
    """Starts the two request threads and sends SIGTERM once both requests are running on the server."""
    for t in threads:
        t.start()
    wait_for("both requests running", lambda: in_flight(s) == 2)
    s.proc.send_signal(signal.SIGTERM)


def test_sigterm_drains_running_requests_and_refuses_new_ones():
    # 300 tokens each keep the two requests running while the probes are sent; the drain waits as long as they take.
    s = Server(SMOLLM2, "--parallel", "2", "-c", "2048", "--drain-timeout", "300").wait_ready()
    client = openai.OpenAI(base_url=s.url + "/v1", api_key="none", max_retries=0, timeout=600)
    results = {}

    def plain():
        r = client.chat.completions.create(model=MODEL, max_tokens=300, messages=LONG["messages"], temperature=0,
                                           extra_body={"ignore_eos": True})
        results["plain"] = (r.choices[0].finish_reason, r.usage.completion_tokens)

    def streamed():
        chunks, finish = 0, None
        for c in client.chat.completions.create(model=MODEL, max_tokens=300, stream=True, messages=LONG["messages"],
                                                temperature=0, extra_body={"ignore_eos": True}):
            chunks += 1
            finish = (c.choices[0].finish_reason if c.choices else None) or finish
        results["stream"] = (finish, chunks)

    threads = [threading.Thread(target=plain), threading.Thread(target=streamed)]
    try:
        start_then_sigterm(s, threads)
        health = wait_for("/health 503", lambda: (h := http("GET", s.url + "/health"))[0] == 503 and h)
        status, err = error_of(health)
        assert err["code"] == "shutting_down"
        assert health[1].get("Retry-After") == "1"
        status, headers, body = http("POST", s.url + CHAT, OK)
        assert status == 503 and error_of((status, headers, body))[1]["code"] == "shutting_down"
        assert headers.get("Retry-After") == "1"
        for t in threads:
            t.join(600)
        assert s.proc.wait(timeout=120) == 0
    finally:
        s.stop()
    assert results["plain"] == ("length", 300)
    assert results["stream"][0] == "length" and results["stream"][1] > 1
    assert b"draining" in s.log_path.read_bytes()


def test_drain_timeout_answers_an_unfinished_plain_request_503_and_cuts_a_stream():
    s = Server(SMOLLM2, "--parallel", "2", "-c", "8192", "--drain-timeout", "0.5").wait_ready()
    client = openai.OpenAI(base_url=s.url + "/v1", api_key="none", max_retries=0, timeout=600)
    results = {}

    def plain():
        results["plain"] = http("POST", s.url + CHAT, {**LONG, "max_tokens": 2000})

    def streamed():
        chunks = 0
        try:
            for _ in client.chat.completions.create(model=MODEL, max_tokens=2000, stream=True,
                                                    messages=LONG["messages"], extra_body={"ignore_eos": True}):
                chunks += 1
            results["stream"] = "done"
        except openai.APIError as e:  # the error event the deadline sends
            results["stream"] = str(e)

    threads = [threading.Thread(target=plain), threading.Thread(target=streamed)]
    try:
        start_then_sigterm(s, threads)
        for t in threads:
            t.join(600)
        assert s.proc.wait(timeout=120) == 0
    finally:
        s.stop()
    status, err = error_of(results["plain"])
    assert status == 503 and err["code"] == "shutting_down", results["plain"]
    assert results["plain"][1].get("Retry-After") == "1"
    assert "shut down" in results["stream"]
