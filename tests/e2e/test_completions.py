"""Legacy completions: text and token-id prompts, streaming, logprobs, echo of usage."""

from conftest import tokenize_with_cli

PROMPT = "The capital of France is"


def test_completion_text(client):
    r = client.completions.create(model="smollm2", prompt=PROMPT, max_tokens=8, temperature=0)
    assert r.object == "text_completion"
    assert r.choices[0].text
    assert r.usage.prompt_tokens == len(tokenize_with_cli(PROMPT))


def test_token_id_prompt_equals_text_prompt(client):
    ids = tokenize_with_cli(PROMPT)
    a = client.completions.create(model="smollm2", prompt=PROMPT, max_tokens=8, temperature=0)
    b = client.completions.create(model="smollm2", prompt=ids, max_tokens=8, temperature=0)
    assert a.choices[0].text == b.choices[0].text


def test_completion_stream_joins(client):
    full = client.completions.create(model="smollm2", prompt=PROMPT, max_tokens=20, temperature=0)
    chunks = list(client.completions.create(model="smollm2", prompt=PROMPT, max_tokens=20, temperature=0,
                                            stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == full.choices[0].text
    assert chunks[-1].usage.prompt_tokens == full.usage.prompt_tokens


def test_completion_logprobs(client):
    r = client.completions.create(model="smollm2", prompt=PROMPT, max_tokens=5, temperature=0, logprobs=2)
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == r.usage.completion_tokens
    assert "".join(lp.tokens) == r.choices[0].text
    assert lp.text_offset[0] == 0
    assert all(len(t) == 2 for t in lp.top_logprobs)
    assert all(x <= 0 for x in lp.token_logprobs)
