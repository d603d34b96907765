"""The Responses API (POST /v1/responses, issue 15 section 2) through the official client's
client.responses.create, streamed and not: string and item input with instructions, the streamed events and their
final response equal to the non-streamed one, text.format json_schema, max_output_tokens → incomplete, reasoning
effort as the thinking switch, a function call round trip (SmolLM2 with a template that shows tools, and a
text.format schema forcing a call-shaped reply, as in test_tools.py), and the 400s of a stateless server."""

import json
from pathlib import Path

import jsonschema
import openai
import pytest

from conftest import REPO, SMOLLM2, Server, client_of, render_with_jinja2, tokenize_with_cli

TEMPLATE = Path(__file__).resolve().parents[1] / "fixtures" / "templates" / "chatml_tools_generic.jinja"
THINKING_TEMPLATE = REPO.parent / "shared" / "templates" / "Qwen3.5-4B.jinja"
WEATHER_PARAMS = {"type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Rome", "Oslo"]}},
                  "required": ["city"], "additionalProperties": False}
WEATHER = {"type": "function", "name": "get_weather", "description": "Current weather in a city.",
           "parameters": WEATHER_PARAMS, "strict": True}
CALL = {"type": "object", "properties": {"name": {"const": "get_weather"}, "arguments": WEATHER_PARAMS},
        "required": ["name", "arguments"], "additionalProperties": False}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]
FORCE_CALL = {"format": {"type": "json_schema", "name": "call", "schema": CALL}}


def without_ids(r):
    """A response as a dict with what differs between two runs of the same request left out."""
    d = r.model_dump(exclude_none=True) if hasattr(r, "model_dump") else dict(r)
    for key in ("id", "created_at"):
        d.pop(key, None)
    d["usage"]["input_tokens_details"].pop("cached_tokens")  # the second run finds the prompt in the prefix cache
    for item in d.get("output", []):
        item.pop("id", None)
        item.pop("call_id", None)
    return d


def collect(stream):
    """The events of a streamed response, in order, checked to be numbered 0, 1, 2, ..."""
    events = list(stream)
    assert [e.sequence_number for e in events] == list(range(len(events)))
    return events


def test_string_input(client):
    r = client.responses.create(model="smollm2", input="Say hello.", temperature=0, max_output_tokens=24)
    assert r.object == "response" and r.id.startswith("resp_")
    assert r.status in ("completed", "incomplete") and r.model == "smollm2"
    assert [o.type for o in r.output] == ["message"]
    msg = r.output[0]
    assert msg.role == "assistant" and msg.id.startswith("msg_") and msg.content[0].type == "output_text"
    assert isinstance(r.output_text, str) and r.output_text == msg.content[0].text and r.output_text
    u = r.usage
    assert u.input_tokens > 0 and 0 < u.output_tokens <= 24 and u.total_tokens == u.input_tokens + u.output_tokens
    assert u.input_tokens_details.cached_tokens >= 0 and u.output_tokens_details.reasoning_tokens == 0
    assert r.temperature == 0 and r.max_output_tokens == 24 and r.tools == [] and r.tool_choice == "auto"


def test_item_input_with_instructions(client):
    items = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Name a color."}]},
             {"role": "assistant", "content": [{"type": "output_text", "text": "Blue."}]},
             {"role": "user", "content": "Another one?"}]
    kw = dict(model="smollm2", temperature=0, max_output_tokens=16)
    r = client.responses.create(input=items, instructions="Answer in one word.", metadata={"run": "e2e"}, **kw)
    assert r.output_text and r.instructions == "Answer in one word." and r.metadata == {"run": "e2e"}
    # The prompt is the template's render of the chat messages the items mean (jinja2 reference, tokenized by
    # hotrod tokenize): instructions first as the system turn, the text parts, the assistant turn.
    messages = [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Name a color."},
                {"role": "assistant", "content": "Blue."}, {"role": "user", "content": "Another one?"}]
    assert r.usage.input_tokens == len(tokenize_with_cli(render_with_jinja2(messages)))


def test_streamed_equals_non_streamed(client):
    kw = dict(model="smollm2", input="Write a haiku about the sea.", temperature=0, max_output_tokens=40)
    whole = client.responses.create(**kw)
    events = collect(client.responses.create(**kw, stream=True))
    types = [e.type for e in events]
    assert types[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed" if whole.status == "completed" else "response.incomplete"]
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    item_id = events[2].item.id
    assert all(d.item_id == item_id and d.output_index == 0 and d.content_index == 0 for d in deltas)
    assert "".join(d.delta for d in deltas) == whole.output_text
    assert events[0].response.status == "in_progress" and events[0].response.output == []
    final = events[-1].response
    assert final.output_text == whole.output_text
    assert without_ids(final) == without_ids(whole)
    # The SDK's own accumulating stream helper takes the events as they come.
    with client.responses.stream(**kw) as s:
        assert s.get_final_response().output_text == whole.output_text


def test_text_format_json_schema(client):
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
              "required": ["city", "population"], "additionalProperties": False}
    r = client.responses.create(model="smollm2", input="Describe Paris as JSON.", temperature=0, max_output_tokens=64,
                                text={"format": {"type": "json_schema", "name": "city", "schema": schema,
                                                 "strict": True}})
    assert r.status == "completed"
    jsonschema.validate(json.loads(r.output_text), schema)
    assert r.text.format.type == "json_schema"


def test_max_output_tokens_is_incomplete(client):
    kw = dict(model="smollm2", input="Tell me a long story about a dragon.", temperature=0, max_output_tokens=5)
    r = client.responses.create(**kw)
    assert r.status == "incomplete" and r.incomplete_details.reason == "max_output_tokens"
    assert r.usage.output_tokens == 5 and r.output[0].status == "incomplete"
    events = collect(client.responses.create(**kw, stream=True))
    assert events[-1].type == "response.incomplete"
    assert without_ids(events[-1].response) == without_ids(r)


@pytest.mark.parametrize("body,param", [
    ({"previous_response_id": "resp_123"}, "previous_response_id"),
    ({"store": True}, "store"),
    ({"input": [{"type": "bogus"}]}, "input[0].type"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
     "input[0].content[0].type"),
    ({"input": 5}, "input"),
    ({"tools": [WEATHER], "tool_choice": {"type": "function", "name": "nope"}}, "tool_choice"),
    ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format.schema"),
    ({"reasoning": {"effort": "extreme"}}, "reasoning.effort"),
    ({"max_output_tokens": 0}, "max_output_tokens"),
])
def test_bad_requests_are_400s(client, body, param):
    kw = {"model": "smollm2", "input": "hi", **body}
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(**kw)
    assert e.value.status_code == 400
    assert e.value.body["param"] == param and e.value.body["type"] == "invalid_request_error"
    if param in ("previous_response_id", "store"):
        assert e.value.body["code"] == "unsupported_parameter" and "stateless" in e.value.body["message"]


# ---- tools: a template that shows tools (generic JSON calls), the call forced by text.format ----

@pytest.fixture(scope="module")
def tc():
    s = Server(SMOLLM2, "--chat-template-file", str(TEMPLATE), "--parallel", "2", "-c", "4096",
               "--alias", "smollm2").wait_ready()
    yield client_of(s)
    assert s.stop() == 0, s.log_path.read_text()[-3000:]


def test_function_call_round_trip(tc):
    r = tc.responses.create(model="smollm2", input=ASK, tools=[WEATHER], temperature=0, max_output_tokens=64,
                            text=FORCE_CALL)
    assert r.status == "completed"
    calls = [o for o in r.output if o.type == "function_call"]
    assert len(calls) == 1 and r.output_text == ""
    call = calls[0]
    assert call.name == "get_weather" and call.status == "completed"
    assert call.id.startswith("fc_") and call.call_id.startswith("call_")
    jsonschema.validate(json.loads(call.arguments), WEATHER_PARAMS)
    assert r.tools[0].name == "get_weather"

    # The call and its result go back as items; the answer is asked for in text (whether the model would call
    # again is its own choice, see test_tools.py), and the result must have reached the prompt.
    history = ASK + [o.model_dump(exclude_none=True) for o in r.output]
    result = {"type": "function_call_output", "call_id": call.call_id, "output": "18 C and cloudy"}
    kw = dict(model="smollm2", tools=[WEATHER], tool_choice="none", temperature=0, max_output_tokens=24)
    answer = tc.responses.create(input=history + [result], **kw)
    assert answer.output_text and [o.type for o in answer.output] == ["message"]
    without_result = tc.responses.create(input=history, **kw)
    assert answer.usage.input_tokens > without_result.usage.input_tokens + 5


def test_streamed_function_call(tc):
    kw = dict(model="smollm2", input=ASK, tools=[WEATHER], temperature=0, max_output_tokens=64, text=FORCE_CALL)
    whole = tc.responses.create(**kw)
    events = collect(tc.responses.create(**kw, stream=True))
    types = [e.type for e in events]
    assert types == ["response.created", "response.in_progress", "response.output_item.added",
                     "response.function_call_arguments.delta", "response.function_call_arguments.done",
                     "response.output_item.done", "response.completed"]
    added, delta, done, item_done = events[2:6]
    assert added.item.type == "function_call" and added.item.name == "get_weather" and added.item.arguments == ""
    assert delta.item_id == done.item_id == added.item.id == item_done.item.id
    assert json.loads(delta.delta) == json.loads(done.arguments) == json.loads(whole.output[0].arguments)
    assert item_done.item.call_id == added.item.call_id
    assert without_ids(events[-1].response) == without_ids(whole)


def test_parallel_tool_calls_false_keeps_the_first(tc):
    two = {"type": "array", "items": CALL, "minItems": 2, "maxItems": 2}
    kw = dict(model="smollm2", input=ASK, tools=[WEATHER], temperature=0, max_output_tokens=96,
              text={"format": {"type": "json_schema", "name": "calls", "schema": two}})
    assert [o.type for o in tc.responses.create(**kw).output] == ["function_call"] * 2
    r = tc.responses.create(**kw, parallel_tool_calls=False)
    assert [o.type for o in r.output] == ["function_call"] and r.parallel_tool_calls is False


# ---- reasoning: Qwen3.5's thinking template on SmolLM2's weights (see test_reasoning.py) ----

def test_reasoning_effort_is_the_thinking_switch():
    if not THINKING_TEMPLATE.exists():
        pytest.skip(f"{THINKING_TEMPLATE} is missing")
    s = Server(SMOLLM2, "--chat-template-file", str(THINKING_TEMPLATE), "-c", "2048").wait_ready()
    try:
        c = client_of(s)
        kw = dict(model="", input="Is 17 a prime number?", temperature=0, max_output_tokens=24)
        on = c.responses.create(**kw, reasoning={"effort": "low"})
        # The prompt opens <think>; SmolLM2 never learned to close it, so the reply is reasoning.
        assert on.output[0].type == "reasoning" and on.output[0].content[0].text
        assert on.usage.output_tokens_details.reasoning_tokens > 0
        events = collect(c.responses.create(**kw, reasoning={"effort": "low"}, stream=True))
        assert "response.reasoning_text.delta" in [e.type for e in events]
        assert without_ids(events[-1].response) == without_ids(on)
        off = c.responses.create(**kw, reasoning={"effort": "none"})
        assert [o.type for o in off.output] == ["message"] and off.output_text
    finally:
        assert s.stop() == 0
