"""Qwen3.5's hybrid architecture (issue 14) behind `hotrod serve`: a synthetic tiny qwen35 (`hotrod synth`, with
the real Qwen3.5 vocabulary and chat template) answers concurrent requests, each equal to the same request run
alone (every sequence's delta-net state in its own slot, slots reused as requests come and go); a request
sharing a long system prompt resumes from a snapshot of the state inside it (the hybrid prefix cache) and a
repeated prompt answers the same from the cache; thinking switched off per request gives content only."""

import concurrent.futures
import subprocess

import pytest

from conftest import HOTROD, REPO, Server, client_of

SHARED = REPO.parent / "shared"
VOCAB = SHARED / "vocab" / "ggml-vocab-qwen35.gguf"
TEMPLATE = SHARED / "templates" / "Qwen3.5-4B.jinja"


@pytest.fixture(scope="module")
def qwen35(tmp_path_factory):
    if not VOCAB.exists() or not TEMPLATE.exists():
        pytest.skip(f"{VOCAB} or {TEMPLATE} is missing")
    path = tmp_path_factory.mktemp("qwen35") / "synth-qwen35-tiny.gguf"
    subprocess.run([str(HOTROD), "synth", "--arch", "qwen35", "--shape", "tiny", "--quant", "q8_0", "--seed", "11",
                    "--vocab", str(VOCAB), "--chat-template", str(TEMPLATE), "-o", str(path)], check=True)
    s = Server(path, "--parallel", "2", "-c", "4096").wait_ready()
    yield s
    assert s.stop() == 0, s.log_path.read_text()[-3000:]


def ask(client, text, **kw):
    r = client.chat.completions.create(model="", messages=[{"role": "user", "content": text}], max_tokens=12,
                                       temperature=0, **kw)
    return r


def test_concurrent_requests_equal_each_alone(qwen35):
    c = client_of(qwen35)
    prompts = [f"Question {i}: " + "why is the sky blue? " * (1 + 3 * i) for i in range(6)]
    alone = [ask(c, p).choices[0].message for p in prompts]
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        together = list(pool.map(lambda p: ask(c, p).choices[0].message, prompts))
    for a, t in zip(alone, together):
        assert (a.content, getattr(a, "reasoning_content", None)) == \
               (t.content, getattr(t, "reasoning_content", None))


def test_shared_prefix_resumes_from_a_state_snapshot(qwen35):
    c = client_of(qwen35)
    system = "A long shared system prompt about the weather in many cities. " * 40
    ask_with = lambda user: c.chat.completions.create(
        model="", messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
        max_tokens=8, temperature=0)
    first = ask_with("What about Paris?")
    second = ask_with("And Rome?")
    cached = second.usage.prompt_tokens_details.cached_tokens
    # Resumed at a snapshot inside the shared system prompt: at most one snapshot interval (128) short of it.
    assert cached > first.usage.prompt_tokens - 160, (cached, first.usage.prompt_tokens)
    again = ask_with("What about Paris?")  # the same prompt: the same answer from the cache
    assert again.choices[0].message == first.choices[0].message


def test_thinking_off_per_request_gives_content_only(qwen35):
    r = ask(client_of(qwen35), "Hello", extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    m = r.choices[0].message
    assert getattr(m, "reasoning_content", None) is None
    assert m.content
