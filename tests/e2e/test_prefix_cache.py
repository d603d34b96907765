"""Prefix cache: a second request with the same long system prompt reuses its KV blocks: it reports cached
tokens for most of its prompt (the server's own count, not a timing: how much sooner its first token comes
depends on what else the machine runs)."""

SYSTEM = ("You are a classifier of support tickets. " +
          " ".join(f"Rule {i}: tickets that mention topic number {i} belong to queue {i % 7}." for i in range(60)))


def usage_of(client, question):
    stream = client.chat.completions.create(
        model="smollm2", messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
        max_tokens=4, temperature=0, stream=True, stream_options={"include_usage": True})
    usage = None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
    return usage


def test_second_request_hits_the_prefix_cache(client):
    u1 = usage_of(client, "Ticket: my printer is on fire.")
    u2 = usage_of(client, "Ticket: the coffee machine is broken.")
    assert u1.prompt_tokens > 900
    assert u2.prompt_tokens_details.cached_tokens > 0.8 * u2.prompt_tokens - 64
    assert u2.prompt_tokens_details.cached_tokens > u1.prompt_tokens_details.cached_tokens
