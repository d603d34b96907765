"""Reasoning control on a thinking template (Qwen3.5's, from ../shared/templates, served with SmolLM2's weights
through --chat-template-file): with thinking on, the prompt opens <think> and the reply's text goes to
reasoning_content, never into content, streamed or not; with thinking off (server flag or per request) the
template closes the block itself and no reasoning_content comes back."""

import pytest

from conftest import REPO, SMOLLM2, Server, render_with_jinja2, tokenize_with_cli

TEMPLATE = REPO.parent / "shared" / "templates" / "Qwen3.5-4B.jinja"
MESSAGES = [{"role": "user", "content": "Is 17 a prime number?"}]


def server_with(reasoning):
    if not TEMPLATE.exists():
        pytest.skip(f"{TEMPLATE} is missing")
    return Server(SMOLLM2, "--chat-template-file", str(TEMPLATE), "--reasoning", reasoning, "--parallel", "2",
                  "-c", "2048").wait_ready()


@pytest.fixture(scope="module")
def thinking_on():
    s = server_with("on")
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="module")
def thinking_off():
    s = server_with("off")
    yield s
    assert s.stop() == 0


def client_of(s):
    import openai
    return openai.OpenAI(base_url=s.url + "/v1", api_key="none", max_retries=0)


def ask(s, stream=False, **extra):
    c = client_of(s)
    kw = dict(model="", messages=MESSAGES, max_tokens=24, temperature=0, extra_body=extra or None)
    if not stream:
        m = c.chat.completions.create(**kw).choices[0].message
        return getattr(m, "reasoning_content", None), m.content, None
    reasoning, content, usage = "", "", None
    for chunk in c.chat.completions.create(**kw, stream=True, stream_options={"include_usage": True}):
        if chunk.usage:
            usage = chunk.usage
        if chunk.choices:
            d = chunk.choices[0].delta
            reasoning += getattr(d, "reasoning_content", None) or ""
            content += d.content or ""
    return reasoning or None, content, usage


def test_on_routes_the_open_think_block_to_reasoning(thinking_on):
    reasoning, content, _ = ask(thinking_on)
    # The prompt ends inside <think>; SmolLM2 never learned to close it, so all 24 tokens are reasoning.
    assert reasoning
    assert "<think>" not in (content or "") and "</think>" not in (content or "")
    assert not content or reasoning  # content only after a close tag
    s_reasoning, s_content, usage = ask(thinking_on, stream=True)
    assert (s_reasoning, s_content or "") == (reasoning, content or "")
    # The prompt is the template's own render with thinking on (jinja2 reference, tokenized by hotrod tokenize).
    assert usage.prompt_tokens == len(tokenize_with_cli(render_with_jinja2(MESSAGES, template=TEMPLATE)))


def test_off_gives_no_reasoning(thinking_off):
    reasoning, content, _ = ask(thinking_off)
    assert reasoning is None and content
    _, _, usage = ask(thinking_off, stream=True)
    expected = render_with_jinja2(MESSAGES, template=TEMPLATE, enable_thinking=False)
    assert expected.endswith("<think>\n\n</think>\n\n")
    assert usage.prompt_tokens == len(tokenize_with_cli(expected))


def test_request_overrides_the_server_default(thinking_on, thinking_off):
    reasoning, content, _ = ask(thinking_on, chat_template_kwargs={"enable_thinking": False})
    assert reasoning is None and content
    reasoning, _, _ = ask(thinking_off, chat_template_kwargs={"enable_thinking": True})
    assert reasoning
