"""Tool calling on /v1/chat/completions (issue 15, first part): the request's tools and tool_choice, the reply's
tool calls parsed out of the model's text into message.tool_calls / delta.tool_calls with finish_reason
"tool_calls", a tool-result round trip, and the 400s for a bad tool_choice. SmolLM2 has no tool syntax of its own,
so the server runs a ChatML template that shows tools without one (generic JSON calls) and response_format forces
a call-shaped reply: deterministic, and exactly the server's parse-and-report path. tool_choice required / named
with strict tools are forced by the tool-call grammar: 100 seeded sampled requests must all give arguments that
validate against the schema (Python jsonschema is the reference)."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import openai
import pytest

from conftest import SMOLLM2, Server, client_of

TEMPLATE = Path(__file__).resolve().parents[1] / "fixtures" / "templates" / "chatml_tools_generic.jinja"
WEATHER_PARAMS = {"type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Rome", "Oslo"]}},
                  "required": ["city"], "additionalProperties": False}
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city.",
                                            "parameters": WEATHER_PARAMS}}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
CALL = {"type": "object", "properties": {"name": {"const": "get_weather"}, "arguments": WEATHER_PARAMS},
        "required": ["name", "arguments"], "additionalProperties": False}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


def forced(schema):
    return {"type": "json_schema", "json_schema": {"name": "call", "schema": schema}}


@pytest.fixture(scope="module")
def tool_server():
    s = Server(SMOLLM2, "--chat-template-file", str(TEMPLATE), "--parallel", "2", "-c", "4096",
               "--alias", "smollm2").wait_ready()
    yield s
    assert s.stop() == 0, s.log_path.read_text()[-3000:]


@pytest.fixture(scope="module")
def tc(tool_server):
    return client_of(tool_server)


def test_call_is_parsed_into_tool_calls(tc):
    r = tc.chat.completions.create(model="smollm2", messages=ASK, tools=[WEATHER, TIME], temperature=0, max_tokens=64,
                                   response_format=forced(CALL))
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.id.startswith("call_") and len(call.id) == 29
    assert call.function.name == "get_weather"
    jsonschema.validate(json.loads(call.function.arguments), WEATHER_PARAMS)


def test_streamed_call_equals_the_non_streamed_one(tc):
    kw = dict(model="smollm2", messages=ASK, tools=[WEATHER], temperature=0, max_tokens=64,
              response_format=forced(CALL))
    whole = tc.chat.completions.create(**kw).choices[0].message.tool_calls[0]
    content, calls, finish = "", {}, None
    for chunk in tc.chat.completions.create(**kw, stream=True):
        if not chunk.choices:
            continue
        d = chunk.choices[0].delta
        content += d.content or ""
        for t in d.tool_calls or []:
            c = calls.setdefault(t.index, {"id": None, "name": "", "arguments": ""})
            c["id"] = t.id or c["id"]
            c["name"] += (t.function.name or "") if t.function else ""
            c["arguments"] += (t.function.arguments or "") if t.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert content == ""  # the call's JSON never leaks into content
    assert finish == "tool_calls"
    assert list(calls) == [0]
    assert calls[0]["id"].startswith("call_")
    assert calls[0]["name"] == whole.function.name
    assert json.loads(calls[0]["arguments"]) == json.loads(whole.function.arguments)


def test_parallel_tool_calls_false_keeps_the_first(tc):
    two = {"type": "array", "items": CALL, "minItems": 2, "maxItems": 2}
    kw = dict(model="smollm2", messages=ASK, tools=[WEATHER], temperature=0, max_tokens=96, response_format=forced(two))
    assert len(tc.chat.completions.create(**kw).choices[0].message.tool_calls) == 2
    assert len(tc.chat.completions.create(**kw, parallel_tool_calls=False).choices[0].message.tool_calls) == 1


def test_tool_result_round_trip(tc):
    first = tc.chat.completions.create(model="smollm2", messages=ASK, tools=[WEATHER], temperature=0, max_tokens=64,
                                       response_format=forced(CALL)).choices[0].message
    call = first.tool_calls[0]
    messages = ASK + [{"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
                      {"role": "tool", "tool_call_id": call.id, "content": "18 C and cloudy"}]
    # Whether the model calls again after the result is its own choice (greedy text differs between CPUs: CI's
    # machine called again), so the answer is asked for in text; the result must have reached the prompt.
    kw = dict(model="smollm2", tools=[WEATHER], tool_choice="none", temperature=0, max_tokens=24)
    r = tc.chat.completions.create(messages=messages, **kw)
    assert r.choices[0].finish_reason in ("stop", "length")
    assert isinstance(r.choices[0].message.content, str) and r.choices[0].message.content
    without_result = tc.chat.completions.create(messages=messages[:-1], **kw)
    assert r.usage.prompt_tokens > without_result.usage.prompt_tokens + 5


def test_tool_choice_none_answers_in_text(tc):
    r = tc.chat.completions.create(model="smollm2", messages=ASK, tools=[WEATHER], tool_choice="none", temperature=0,
                                   max_tokens=64, response_format=forced(CALL))
    choice = r.choices[0]
    assert choice.finish_reason == "stop" and not choice.message.tool_calls
    assert json.loads(choice.message.content)["name"] == "get_weather"  # the text as written, not parsed


@pytest.mark.parametrize("extra,param", [
    ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
    ({"tools": [WEATHER], "tool_choice": "sometimes"}, "tool_choice"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"tools": [{"type": "function"}]}, "tools[0]"),
])
def test_bad_tool_choice_or_tools_is_a_400(tc, extra, param):
    with pytest.raises(openai.BadRequestError) as e:
        tc.chat.completions.create(model="smollm2", messages=ASK, max_tokens=4, **extra)
    assert e.value.body["param"] == param


# A small strict schema: an enum, a bounded string and an integer, so sampled arguments stay short.
TRIP_PARAMS = {"type": "object", "properties": {
    "city": {"type": "string", "enum": ["Paris", "Rome", "Oslo"]},
    "note": {"type": "string", "maxLength": 12},
    "days": {"type": "integer"}},
    "required": ["city", "days"], "additionalProperties": False}
TRIP = {"type": "function", "function": {"name": "plan_trip", "strict": True, "parameters": TRIP_PARAMS}}
STRICT_WEATHER = {"type": "function", "function": {**WEATHER["function"], "strict": True}}


def _forced_call(tc, seed, choice):
    r = tc.chat.completions.create(model="smollm2", messages=ASK, tools=[STRICT_WEATHER, TRIP], tool_choice=choice,
                                   temperature=1.0, seed=seed, max_tokens=60)
    return r.choices[0]


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "plan_trip"}}],
                         ids=["required", "named"])
def test_forced_calls_always_validate(tc, choice):
    schemas = {"get_weather": WEATHER_PARAMS, "plan_trip": TRIP_PARAMS}
    with ThreadPoolExecutor(4) as pool:
        choices = list(pool.map(lambda seed: _forced_call(tc, seed, choice), range(50)))
    for c in choices:
        assert c.finish_reason == "tool_calls", c
        assert len(c.message.tool_calls) == 1  # generic JSON: one call per reply
        call = c.message.tool_calls[0].function
        if isinstance(choice, dict):
            assert call.name == "plan_trip"
        jsonschema.validate(json.loads(call.arguments), schemas[call.name])


def test_strict_tool_with_an_unenforceable_schema_is_a_400(tc):
    bad = {"type": "function", "function": {"name": "find", "strict": True, "parameters": {
        "type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}$"}}}}}
    with pytest.raises(openai.BadRequestError) as e:
        tc.chat.completions.create(model="smollm2", messages=ASK, tools=[WEATHER, bad], tool_choice="required",
                                   max_tokens=4)
    assert e.value.body["param"] == "tools[1].function.parameters"
    assert "pattern" in e.value.body["message"] and "#/properties/code" in e.value.body["message"]
    # Without strict the same tool is accepted: its arguments fall back to any JSON object.
    loose = {"type": "function", "function": {**bad["function"], "strict": False}}
    r = tc.chat.completions.create(model="smollm2", messages=ASK, tools=[loose], tool_choice="required",
                                   temperature=0, max_tokens=40)
    assert r.choices[0].finish_reason in ("tool_calls", "length")


def test_response_format_with_required_is_a_400(tc):
    with pytest.raises(openai.BadRequestError) as e:
        tc.chat.completions.create(model="smollm2", messages=ASK, tools=[WEATHER], tool_choice="required",
                                   max_tokens=4, response_format=forced(CALL))
    assert e.value.body["param"] == "response_format"
    assert "tool_choice" in e.value.body["message"]


def test_responses_api_forces_the_named_function(tc):
    r = tc.responses.create(model="smollm2", input="What is the weather in Rome?", max_output_tokens=60,
                            tools=[{"type": "function", "name": "plan_trip", "strict": True, "parameters": TRIP_PARAMS}],
                            tool_choice={"type": "function", "name": "plan_trip"}, temperature=1.0)
    calls = [o for o in r.output if o.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "plan_trip"
    jsonschema.validate(json.loads(calls[0].arguments), TRIP_PARAMS)


# xml_function (Qwen3.5's template) on the same small model: no e2e model is trained on it, but the forced calls must
# still come back as calls whose arguments validate, raw string values included.
QWEN35_TEMPLATE = Path(__file__).resolve().parents[2] / ".." / "shared" / "templates" / "Qwen3.5-4B.jinja"
EDIT_PARAMS = {"type": "object", "properties": {
    "path": {"type": "string", "maxLength": 24},
    "text": {"type": "string", "minLength": 1, "maxLength": 40},
    "line": {"type": "integer"},
    "dry": {"type": "boolean"}},
    "required": ["path", "text"], "additionalProperties": False}
EDIT = {"type": "function", "function": {"name": "edit", "strict": True, "parameters": EDIT_PARAMS}}


@pytest.fixture(scope="module")
def xc():
    if not QWEN35_TEMPLATE.exists():
        pytest.skip(f"no {QWEN35_TEMPLATE}")
    s = Server(SMOLLM2, "--chat-template-file", str(QWEN35_TEMPLATE), "--parallel", "2", "-c", "4096",
               "--alias", "smollm2").wait_ready()
    yield client_of(s)
    assert s.stop() == 0, s.log_path.read_text()[-3000:]


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "edit"}}],
                         ids=["required", "named"])
def test_xml_function_forced_calls_validate(xc, choice):
    schemas = {"get_weather": WEATHER_PARAMS, "plan_trip": TRIP_PARAMS, "edit": EDIT_PARAMS}

    def call(seed):
        r = xc.chat.completions.create(model="smollm2", messages=ASK, tools=[STRICT_WEATHER, TRIP, EDIT],
                                       tool_choice=choice, temperature=1.0, seed=seed, max_tokens=200,
                                       parallel_tool_calls=False,
                                       extra_body={"chat_template_kwargs": {"enable_thinking": False}})
        return r.choices[0]
    with ThreadPoolExecutor(4) as pool:
        choices = list(pool.map(call, range(24)))
    for c in choices:  # every value is bounded, so each call ends well within max_tokens
        assert c.finish_reason == "tool_calls", c
        assert len(c.message.tool_calls) == 1
        call_ = c.message.tool_calls[0].function
        if isinstance(choice, dict):
            assert call_.name == "edit"
        jsonschema.validate(json.loads(call_.arguments), schemas[call_.name])
