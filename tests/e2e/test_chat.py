"""Chat completions through the official openai client: text, streaming deltas, usage against the tokenizer,
stop strings, seeds, logprobs, the model list."""

import math

from conftest import render_with_jinja2, tokenize_with_cli

MESSAGES = [{"role": "user", "content": "Name three colors."}]


def test_chat_returns_text_and_usage(client):
    r = client.chat.completions.create(model="smollm2", messages=MESSAGES, max_tokens=16, temperature=0)
    assert r.object == "chat.completion"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.completion_tokens <= 16
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_prompt_tokens_equal_the_tokenizers_count(client):
    messages = [{"role": "system", "content": "You answer in one word."},
                {"role": "user", "content": "What is the capital of France? Ünïcode, too: 日本."}]
    r = client.chat.completions.create(model="smollm2", messages=messages, max_tokens=4, temperature=0)
    expected = tokenize_with_cli(render_with_jinja2(messages))
    assert r.usage.prompt_tokens == len(expected)


def test_stream_deltas_join_to_the_non_streamed_text(client):
    full = client.chat.completions.create(model="smollm2", messages=MESSAGES, max_tokens=40, temperature=0)
    chunks = list(client.chat.completions.create(model="smollm2", messages=MESSAGES, max_tokens=40, temperature=0,
                                                 stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full.choices[0].message.content
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == [full.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == full.usage.completion_tokens
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1


def test_stream_without_usage_has_no_usage_chunk(client):
    chunks = list(client.chat.completions.create(model="smollm2", messages=MESSAGES, max_tokens=5, temperature=0,
                                                 stream=True))
    assert all(c.choices for c in chunks)


def test_stop_string_ends_before_it(client):
    full = client.chat.completions.create(model="smollm2", messages=MESSAGES, max_tokens=40, temperature=0)
    text = full.choices[0].message.content
    words = text.split()
    assert len(words) >= 3, text
    stop = words[2]
    cut = text[:text.index(stop)]
    r = client.chat.completions.create(model="smollm2", messages=MESSAGES, max_tokens=40, temperature=0,
                                       stop=[stop, "never-appears-xyz"])
    assert r.choices[0].message.content == cut
    assert r.choices[0].finish_reason == "stop"
    streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="smollm2", messages=MESSAGES, max_tokens=40, temperature=0, stop=stop, stream=True) if c.choices)
    assert streamed == cut


def test_seed_reproduces_and_differs(client):
    def sample(seed):
        return client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "Write a word."}],
                                              max_tokens=12, temperature=1.0, top_p=0.95, seed=seed)
    a, b = sample(1234), sample(1234)
    assert a.choices[0].message.content == b.choices[0].message.content
    others = {sample(s).choices[0].message.content for s in (1, 2, 3)}
    assert len(others | {a.choices[0].message.content}) > 1


def test_max_tokens_gives_length(client):
    r = client.chat.completions.create(model="smollm2", messages=MESSAGES, max_completion_tokens=3, temperature=0)
    assert r.usage.completion_tokens == 3
    assert r.choices[0].finish_reason == "length"


def test_logprobs(client):
    r = client.chat.completions.create(model="smollm2", messages=MESSAGES, max_tokens=6, temperature=0,
                                       logprobs=True, top_logprobs=3)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    assert "".join(t.token for t in content) == r.choices[0].message.content
    for t in content:
        assert t.logprob <= 0
        assert len(t.top_logprobs) == 3
        # Greedy: the chosen token is the most likely one, so it heads the alternatives.
        assert t.top_logprobs[0].token == t.token
        assert math.isclose(t.top_logprobs[0].logprob, t.logprob, abs_tol=1e-5)
        assert [x.logprob for x in t.top_logprobs] == sorted((x.logprob for x in t.top_logprobs), reverse=True)
        assert bytes(t.bytes) == t.token.encode()


def test_text_parts_equal_plain_content(client):
    plain = client.chat.completions.create(model="smollm2", messages=MESSAGES, max_tokens=8, temperature=0)
    parts = client.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": [{"type": "text", "text": "Name three colors."}]}],
        max_tokens=8, temperature=0)
    assert parts.choices[0].message.content == plain.choices[0].message.content


def test_model_names(client):
    models = client.models.list().data
    assert [m.id for m in models] == ["smollm2"]
    # The alias, the file's name and no name at all are the same model.
    for name in ("smollm2", "SmolLM2-135M-Instruct.Q4_1", "SmolLM2-135M-Instruct.Q4_1.gguf"):
        r = client.chat.completions.create(model=name, messages=MESSAGES, max_tokens=2, temperature=0)
        assert r.choices[0].message.content


def test_no_reasoning_content_on_a_plain_template(client):
    r = client.chat.completions.create(model="smollm2", messages=MESSAGES, max_tokens=4, temperature=0)
    assert getattr(r.choices[0].message, "reasoning_content", None) is None


def test_streamed_logprobs_cover_every_token(client):
    full = client.chat.completions.create(model="smollm2", messages=MESSAGES, max_tokens=8, temperature=0,
                                          logprobs=True, top_logprobs=2)
    tokens = []
    for c in client.chat.completions.create(model="smollm2", messages=MESSAGES, max_tokens=8, temperature=0,
                                            logprobs=True, top_logprobs=2, stream=True):
        if c.choices and c.choices[0].logprobs and c.choices[0].logprobs.content:
            tokens += c.choices[0].logprobs.content
    assert [t.token for t in tokens] == [t.token for t in full.choices[0].logprobs.content]
    assert [round(t.logprob, 4) for t in tokens] == [round(t.logprob, 4) for t in full.choices[0].logprobs.content]
