"""`hotrod serve --tensor-parallel N` (issue 17, part B on the CPU: ranks are threads of one process joined by
cpu::HostGroup, NCCL's stand-in). SmolLM2 cut over its 3 KV heads serves chat completions, plain and streamed, four
at a time; /health names the ranks; a rank count that does not divide the KV heads fails the load with a message
saying so, and a GPU group is refused until NCCL is built. The ranks' logits match the unsplit model's within
float order (tests/unit/model/test_tensor_parallel.cpp; the engine's tokens on a synthetic model, exactly:
tests/unit/engine/test_engine_tp.cpp). SmolLM2 turns that order into different greedy picks where its top two are
close, so texts are not compared with the unsplit server's here."""

import json
import os
import threading

import pytest

from conftest import SMOLLM2, Server, client_of, http

if os.environ.get("HOTROD_E2E_DEVICE", "").startswith("cuda"):
    pytest.skip("tensor parallel runs CPU ranks only (NCCL not built)", allow_module_level=True)

CPU = ["--device", "cpu"]


def test_three_ranks_serve_chat_plain_and_streamed():
    s = Server(SMOLLM2, *CPU, "-tp", "3", "--parallel", "4", "-c", "4096", "--alias", "smollm2").wait_ready()
    try:
        status, _, body = http("GET", s.url + "/health")
        assert status == 200
        assert "x 3 ranks" in json.loads(body)["device"]
        client = client_of(s)
        questions = ["Name three colors.", "What is 2 + 2?", "Say hello.", "Name a planet."]
        results = [None] * len(questions)

        def ask(i):
            r = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": questions[i]}],
                                               max_tokens=16, temperature=0)
            results[i] = r

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            assert r is not None
            assert r.choices[0].finish_reason in ("length", "stop")
            assert r.choices[0].message.content
            assert 0 < r.usage.completion_tokens <= 16
        # The same request again, streamed: the prefix cache of every rank serves it, and greedy gives the same text.
        chunks = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": questions[0]}],
                                                max_tokens=16, temperature=0, stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == results[0].choices[0].message.content
    finally:
        assert s.stop() == 0, s.log_path.read_text()


def test_ranks_that_do_not_divide_the_kv_heads_fail_the_load():
    s = Server(SMOLLM2, *CPU, "-tp", "2")
    assert s.proc.wait(timeout=120) != 0
    s.log.close()
    log = s.log_path.read_text()
    assert "3 KV heads do not divide evenly" in log, log
