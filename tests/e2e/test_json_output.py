"""Constrained output: 100 json_schema requests with varied, seeded schemas (objects, required subsets, enum,
const, every scalar type, arrays with items and bounds, nested objects, additionalProperties false, string
length bounds) — every output validates with the `jsonschema` package; json_object outputs parse."""

import concurrent.futures as cf
import json
import random

import jsonschema

N_SCHEMAS = 100


def scalar(rng, depth):
    kind = rng.choice(["string", "integer", "number", "boolean", "null", "enum", "const", "array", "object"]
                      if depth < 2 else ["string", "integer", "boolean", "enum"])
    if kind == "string":
        s = {"type": "string", "maxLength": rng.randint(1, 24)}
        if rng.random() < 0.3:
            s["minLength"] = rng.randint(0, s["maxLength"])
        return s
    if kind in ("integer", "number", "boolean", "null"):
        return {"type": kind}
    if kind == "enum":
        return {"enum": rng.sample(["red", "green", "blue", "low", "high", "yes", "no", "unknown"], rng.randint(1, 4))}
    if kind == "const":
        return {"const": rng.choice(["fixed", 42, True, "v1"])}
    if kind == "array":
        a = {"type": "array", "items": scalar(rng, depth + 1), "maxItems": rng.randint(1, 4)}
        if rng.random() < 0.5:
            a["minItems"] = rng.randint(0, a["maxItems"])
        return a
    return obj(rng, depth + 1)


def obj(rng, depth=0):
    names = rng.sample(["name", "phase", "score", "tags", "ok", "kind", "items", "meta", "level", "note"],
                       rng.randint(1, 4))
    props = {n: scalar(rng, depth) for n in names}
    s = {"type": "object", "properties": props,
         "required": [n for n in names if rng.random() < 0.7]}
    if rng.random() < 0.6:
        s["additionalProperties"] = False
    return s


def schemas():
    rng = random.Random(20261124)
    return [obj(rng) for _ in range(N_SCHEMAS)]


def ask(client, schema, i):
    r = client.chat.completions.create(
        model="smollm2", max_tokens=256, temperature=0.7, seed=i,
        messages=[{"role": "user", "content": "Reply with a JSON object describing a build of a web page."}],
        response_format={"type": "json_schema", "json_schema": {"name": f"s{i}", "schema": schema, "strict": True}})
    return r.choices[0].message.content, r.choices[0].finish_reason


def test_json_schema_outputs_validate(client):
    all_schemas = schemas()
    with cf.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda a: ask(client, *a), [(s, i) for i, s in enumerate(all_schemas)]))
    failures = []
    for i, (schema, (text, finish)) in enumerate(zip(all_schemas, results)):
        try:
            jsonschema.validate(json.loads(text), schema)
        except (json.JSONDecodeError, jsonschema.ValidationError) as e:
            failures.append(f"#{i} finish={finish} schema={json.dumps(schema)} output={text!r}: {e}")
    assert not failures, f"{len(failures)} of {N_SCHEMAS} invalid:\n" + "\n".join(failures[:5])


def test_json_object_outputs_parse(client):
    # json_object bounds nothing inside strings, so a rambling model can still hit max_tokens mid-string; a reply
    # cut by the length limit cannot be whole JSON, every one that ended by itself must be.
    finished = 0
    for i in range(6):
        r = client.chat.completions.create(
            model="smollm2", max_tokens=300, temperature=0.8, seed=i,
            messages=[{"role": "user", "content": "Give me a JSON object with a cat's name and age."}],
            response_format={"type": "json_object"})
        if r.choices[0].finish_reason == "length":
            continue
        finished += 1
        assert isinstance(json.loads(r.choices[0].message.content), dict), r.choices[0].message.content
    assert finished >= 3


def test_json_schema_streamed_equals_non_streamed(client):
    schema = {"type": "object", "properties": {"phase": {"enum": ["build", "test", "deploy"]},
                                               "confidence": {"type": "number"}},
              "required": ["phase", "confidence"], "additionalProperties": False}
    kw = dict(model="smollm2", max_tokens=64, temperature=0,
              messages=[{"role": "user", "content": "Classify: 'running the unit tests'."}],
              response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}})
    full = client.chat.completions.create(**kw).choices[0].message.content
    streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(**kw, stream=True)
                       if c.choices)
    assert streamed == full
    jsonschema.validate(json.loads(full), schema)
