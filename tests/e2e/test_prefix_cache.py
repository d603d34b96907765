"""Prefix cache: a second request with the same long system prompt reuses its KV blocks: it reports cached
tokens and its first token comes sooner."""

import time

SYSTEM = ("You are a classifier of support tickets. " +
          " ".join(f"Rule {i}: tickets that mention topic number {i} belong to queue {i % 7}." for i in range(60)))


def ttft(client, question):
    t0 = time.perf_counter()
    stream = client.chat.completions.create(
        model="smollm2", messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
        max_tokens=4, temperature=0, stream=True, stream_options={"include_usage": True})
    first = None
    usage = None
    for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - t0
        if chunk.usage:
            usage = chunk.usage
    return first, usage


def test_second_request_hits_the_prefix_cache(client):
    t1, u1 = ttft(client, "Ticket: my printer is on fire.")
    t2, u2 = ttft(client, "Ticket: the coffee machine is broken.")
    assert u1.prompt_tokens > 900
    assert u2.prompt_tokens_details.cached_tokens > 0.8 * u2.prompt_tokens - 64
    assert u2.prompt_tokens_details.cached_tokens > u1.prompt_tokens_details.cached_tokens
    assert t2 < t1
