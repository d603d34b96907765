"""/metrics (Prometheus text, parsed with a small reader of the format), /tokenize and /detokenize against
`hotrod tokenize`, /health."""

import json
import re
import socket

from conftest import client_of, http, tokenize_with_cli, wait_for

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse_metrics(text):
    """{name{labels}: value} for every sample; checks each family has a TYPE line before its samples."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name = m.group(1)
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, f"sample before its TYPE: {line!r}"
        samples[name + (m.group(2) or "")] = float(m.group(3))
    return samples, types


def chat_counts(server):
    """(200s, 499s, in flight) of the chat endpoint."""
    m, _ = parse_metrics(server.metrics())
    return (m.get('hotrod_requests_total{endpoint="chat",status="200"}', 0),
            m.get('hotrod_requests_total{endpoint="chat",status="499"}', 0), m["hotrod_requests_in_flight"])


def test_metrics_parse_and_count(own_server):
    # A server of its own: the session server may still be finishing an earlier test's requests.
    server, client = own_server, client_of(own_server)
    before, _ = parse_metrics(server.metrics())
    client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "hi"}], max_tokens=3)
    after, types = parse_metrics(server.metrics())
    key = 'hotrod_requests_total{endpoint="chat",status="200"}'
    assert after[key] == before.get(key, 0) + 1
    assert after["hotrod_prompt_tokens_total"] > before.get("hotrod_prompt_tokens_total", 0)
    assert after["hotrod_generated_tokens_total"] >= before.get("hotrod_generated_tokens_total", 0) + 1
    for name in ("hotrod_time_to_first_token_seconds", "hotrod_request_latency_seconds"):
        assert types[name] == "histogram"
        assert after[name + '_bucket{le="+Inf"}'] == after[name + "_count"] >= 1
        buckets = [v for k, v in after.items() if k.startswith(name + "_bucket")]
        assert buckets == sorted(buckets)  # cumulative
    for gauge in ("hotrod_queue_depth", "hotrod_busy_slots", "hotrod_kv_blocks_used", "hotrod_prefix_cache_hit_rate"):
        assert types[gauge] == "gauge" and gauge in after
    assert 0 <= after["hotrod_prefix_cache_hit_rate"] <= 1


def test_a_reply_is_counted_before_the_client_has_it(own_server):
    # The openai client stops reading a stream at "data: [DONE]": the server counts the request (and takes it out
    # of flight) before writing it, so the count is there as soon as the client returns, streamed or not.
    client = client_of(own_server)
    for i in range(40):
        stream = i % 2 == 0
        kw = dict(model="smollm2", messages=[{"role": "user", "content": "hi"}], max_tokens=2)
        if stream:
            assert list(client.chat.completions.create(**kw, stream=True))
        else:
            assert client.chat.completions.create(**kw).choices
        assert chat_counts(own_server) == (i + 1, 0, 0), i


def test_clients_that_leave_before_the_reply_count_499_not_200(own_server):
    # Each client sends a short request and closes at once; the server, which writes a non-streamed reply only when
    # it is whole, sees the closed socket before it would write. None of them got a reply: all 499, none 200.
    n = 6
    body = json.dumps({"model": "smollm2", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5,
                       "ignore_eos": True}).encode()
    for _ in range(n):
        with socket.create_connection(("127.0.0.1", own_server.port)) as s:
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    counts = wait_for(f"{n} requests counted", lambda: (c := chat_counts(own_server))[0] + c[1] == n and c)
    assert counts == (0, n, 0)


def test_tokenize_and_detokenize(server):
    text = "Hello, world! Ünïcode 日本 <|im_start|>"
    status, _, body = http("POST", server.url + "/tokenize", {"content": text})
    assert status == 200
    tokens = json.loads(body)["tokens"]
    assert tokens == tokenize_with_cli(text)  # SmolLM2's vocabulary adds no BOS
    status, _, body = http("POST", server.url + "/detokenize", {"tokens": tokens})
    assert status == 200 and json.loads(body)["content"] == text
    status, _, body = http("POST", server.url + "/tokenize", {"content": "ab", "with_pieces": True})
    assert "".join(t["piece"] for t in json.loads(body)["tokens"]) == "ab"
    assert http("POST", server.url + "/tokenize", {"text": "x"})[0] == 400
    assert http("POST", server.url + "/detokenize", {"tokens": [-1]})[0] == 400


def test_health(server):
    status, _, body = http("GET", server.url + "/health")
    assert status == 200
