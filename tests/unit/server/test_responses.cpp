// /v1/responses without a model: a Responses body translated onto the chat request (input items → messages, flat
// tools → chat tools, text.format → response_format, reasoning.effort → thinking), its 400s naming the field, and
// the reply format: the Response object and the typed event sequence, streamed and not.
#include <gtest/gtest.h>

#include "server/api_error.h"
#include "server/responses_reply.h"
#include "server/responses_request.h"

namespace hotrod::server {
namespace {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

constexpr int32_t kVocab = 1000;
constexpr int32_t kCtx = 2048;

ojson body(ojson extra = ojson::object()) {
    ojson b = {{"model", "m"}, {"input", "hi"}};
    for (auto it = extra.begin(); it != extra.end(); ++it) b[it.key()] = it.value();
    return b;
}

ResponsesRequest parse(const ojson& b) { return parse_responses_request(b, kVocab, kCtx); }

// The param of the 400 a parse throws; "" when it does not throw.
std::string error_param(const ojson& b) {
    try {
        parse(b);
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status(), 400);
        return e.param();
    }
    return "";
}

const ojson kWeather = {{"type", "function"},
                        {"name", "get_weather"},
                        {"description", "Weather in a city."},
                        {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}};

TEST(ResponsesRequest, StringInputAndInstructions) {
    ResponsesRequest r = parse(body({{"instructions", "Be brief."}, {"max_output_tokens", 7}, {"temperature", 0},
                                     {"metadata", {{"k", "v"}}}, {"user", "u1"}}));
    EXPECT_EQ(r.gen.endpoint, Endpoint::chat);
    EXPECT_EQ(r.gen.messages, ojson::parse(R"([{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}])"));
    EXPECT_EQ(r.gen.max_tokens, 7);
    EXPECT_EQ(r.gen.sampling.temperature, 0.0f);
    EXPECT_EQ(r.echo.instructions, "Be brief.");
    EXPECT_EQ(r.echo.max_output_tokens, 7);
    EXPECT_EQ(r.echo.metadata, ojson({{"k", "v"}}));
    EXPECT_EQ(r.echo.user, "u1");
    EXPECT_EQ(r.echo.tool_choice, "auto");
}

TEST(ResponsesRequest, ItemsBecomeMessagesWithToolCallsAndResults) {
    const ojson input = ojson::parse(R"([
        {"role": "developer", "content": "sys"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "a"},
                                                         {"type": "input_text", "text": "b"}]},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
         "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"},
        {"type": "function_call", "call_id": "call_2", "name": "get_time", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "18 C"},
        {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "noon"}]}
    ])");
    ResponsesRequest r = parse(body({{"input", input}}));
    const ojson want = ojson::parse(R"([
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "a\nb"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
            {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
        {"role": "tool", "content": "18 C", "tool_call_id": "call_1", "name": "get_weather"},
        {"role": "tool", "content": "noon", "tool_call_id": "call_2", "name": "get_time"}
    ])");
    // Compared as unordered objects: parse_chat_request writes a message's keys in its own order.
    EXPECT_EQ(json::parse(r.gen.messages.dump()), json::parse(want.dump())) << r.gen.messages.dump(2);
}

TEST(ResponsesRequest, CallWithoutAssistantTextOpensAnAssistantTurn) {
    const ojson input = ojson::parse(R"([
        {"role": "user", "content": "q"},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}])");
    const ojson& m = parse(body({{"input", input}})).gen.messages;
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[1]["role"], "assistant");
    EXPECT_TRUE(m[1]["content"].is_null());
    EXPECT_EQ(m[1]["tool_calls"][0]["id"], "c");
}

TEST(ResponsesRequest, ToolsToolChoiceAndTextFormat) {
    ResponsesRequest r = parse(body({{"tools", {kWeather}},
                                     {"tool_choice", {{"type", "function"}, {"name", "get_weather"}}},
                                     {"parallel_tool_calls", false},
                                     {"text", {{"format", {{"type", "json_schema"}, {"name", "x"},
                                                           {"schema", {{"type", "object"}}}, {"strict", true}}}}}}));
    ASSERT_TRUE(r.gen.tools.is_array());
    EXPECT_EQ(r.gen.tools[0]["function"]["name"], "get_weather");
    EXPECT_EQ(r.gen.tools[0]["function"]["parameters"], kWeather["parameters"]);
    EXPECT_EQ(r.gen.tool_choice.kind, ToolChoice::Kind::function);
    EXPECT_EQ(r.gen.tool_choice.name, "get_weather");
    EXPECT_FALSE(r.gen.parallel_tool_calls);
    EXPECT_EQ(r.gen.response_format.kind, ResponseFormat::Kind::json_schema);
    EXPECT_EQ(r.gen.response_format.schema, ojson({{"type", "object"}}));
    EXPECT_TRUE(r.gen.response_format.strict);
    EXPECT_EQ(r.echo.tools, ojson::array({kWeather}));  // echoed in the Responses shape
    EXPECT_EQ(r.echo.tool_choice["name"], "get_weather");

    EXPECT_EQ(parse(body({{"text", {{"format", {{"type", "json_object"}}}}}})).gen.response_format.kind,
              ResponseFormat::Kind::json_object);
    EXPECT_EQ(parse(body({{"tools", {kWeather}}, {"tool_choice", "required"}})).gen.tool_choice.kind,
              ToolChoice::Kind::required);
}

TEST(ResponsesRequest, ReasoningEffortIsTheThinkingSwitch) {
    EXPECT_EQ(parse(body({{"reasoning", {{"effort", "none"}}}})).gen.enable_thinking, false);
    EXPECT_EQ(parse(body({{"reasoning", {{"effort", "minimal"}}}})).gen.enable_thinking, false);
    EXPECT_EQ(parse(body({{"reasoning", {{"effort", "low"}}}})).gen.enable_thinking, true);
    EXPECT_EQ(parse(body({{"reasoning", {{"effort", "high"}}}})).gen.enable_thinking, true);
    EXPECT_FALSE(parse(body()).gen.enable_thinking.has_value());
    // llama-server's explicit switch wins over the effort.
    EXPECT_EQ(parse(body({{"reasoning", {{"effort", "high"}}},
                          {"chat_template_kwargs", {{"enable_thinking", false}}}})).gen.enable_thinking,
              false);
    EXPECT_EQ(parse(body({{"reasoning", {{"effort", "low"}}}})).echo.reasoning["effort"], "low");
}

TEST(ResponsesRequest, ErrorsNameTheField) {
    EXPECT_EQ(error_param(ojson{{"model", "m"}}), "input");
    EXPECT_EQ(error_param(body({{"input", 3}})), "input");
    EXPECT_EQ(error_param(body({{"input", ojson::array()}})), "input");
    EXPECT_EQ(error_param(body({{"input", {{{"role", "robot"}, {"content", "x"}}}}})), "input[0].role");
    EXPECT_EQ(error_param(body({{"input", {{{"role", "user"}}}}})), "input[0].content");
    EXPECT_EQ(error_param(body({{"input", {{{"role", "user"}, {"content", {{{"type", "input_image"}}}}}}}})),
              "input[0].content[0].type");
    EXPECT_EQ(error_param(body({{"input", {{{"type", "function_call"}, {"name", "f"}, {"arguments", "{}"}}}}})),
              "input[0].call_id");
    EXPECT_EQ(error_param(body({{"input", {{{"type", "function_call_output"}, {"call_id", "c"}}}}})),
              "input[0].output");
    EXPECT_EQ(error_param(body({{"input", {{{"type", "item_reference"}, {"id", "x"}}}}})), "input[0].type");
    EXPECT_EQ(error_param(body({{"input", {{{"type", "web_search_call"}}}}})), "input[0].type");
    EXPECT_EQ(error_param(body({{"tools", {{{"type", "web_search"}}}}})), "tools[0].type");
    EXPECT_EQ(error_param(body({{"tools", {{{"type", "function"}}}}})), "tools[0].name");
    EXPECT_EQ(error_param(body({{"tools", {kWeather}}, {"tool_choice", {{"type", "function"}, {"name", "nope"}}}})),
              "tool_choice");
    EXPECT_EQ(error_param(body({{"tools", {kWeather}}, {"tool_choice", "sometimes"}})), "tool_choice");
    EXPECT_EQ(error_param(body({{"tools", {kWeather}}, {"tool_choice", {{"type", "file_search"}}}})), "tool_choice");
    EXPECT_EQ(error_param(body({{"text", {{"format", {{"type", "xml"}}}}}})), "text.format.type");
    EXPECT_EQ(error_param(body({{"text", {{"format", {{"type", "json_schema"}, {"name", "x"}}}}}})),
              "text.format.schema");
    EXPECT_EQ(error_param(body({{"reasoning", {{"effort", "max"}}}})), "reasoning.effort");
    EXPECT_EQ(error_param(body({{"max_output_tokens", 0}})), "max_output_tokens");
    EXPECT_EQ(error_param(body({{"max_output_tokens", kCtx + 1}})), "max_output_tokens");
    EXPECT_EQ(error_param(body({{"max_output_tokens", "5"}})), "max_output_tokens");
    EXPECT_EQ(error_param(body({{"temperature", -1}})), "temperature");
    EXPECT_EQ(error_param(body({{"metadata", {{"k", 1}}}})), "metadata");
    EXPECT_EQ(error_param(body({{"instructions", 5}})), "instructions");
}

TEST(ResponsesRequest, StatefulFieldsAreRefused) {
    EXPECT_EQ(error_param(body({{"previous_response_id", "resp_1"}})), "previous_response_id");
    EXPECT_EQ(error_param(body({{"store", true}})), "store");
    EXPECT_EQ(error_param(body({{"background", true}})), "background");
    EXPECT_EQ(error_param(body({{"conversation", "conv_1"}})), "conversation");
    EXPECT_EQ(error_param(body({{"top_logprobs", 3}})), "top_logprobs");
    EXPECT_EQ(error_param(body({{"store", false}, {"previous_response_id", nullptr}})), "");
}

// ---- the reply format ----

engine::Event event(std::string text, engine::FinishReason finish = engine::FinishReason::none, int n_tokens = 1) {
    engine::Event e;
    e.text = std::move(text);
    e.finish = finish;
    e.tokens.resize(size_t(n_tokens));
    if (finish != engine::FinishReason::none) e.usage = {.prompt_tokens = 10, .completion_tokens = 6, .cached_tokens = 4};
    return e;
}

ReplySetup setup(bool streaming) {
    ReplySetup s;
    s.meta = {"resp_1-7", "smollm2", 1700000000};
    s.streaming = streaming;
    return s;
}

// The typed events of an SSE text: each "event: T" line's data, checked to name T and to be numbered in order.
std::vector<json> events_of(const std::string& sse) {
    std::vector<json> out;
    size_t pos = 0;
    while ((pos = sse.find("event: ", pos)) != std::string::npos) {
        const size_t eol = sse.find('\n', pos);
        const std::string type = sse.substr(pos + 7, eol - pos - 7);
        EXPECT_EQ(sse.compare(eol + 1, 6, "data: "), 0);
        const size_t end = sse.find("\n\n", eol);
        json data = json::parse(sse.substr(eol + 7, end - eol - 7));
        EXPECT_EQ(data["type"], type);
        EXPECT_EQ(data["sequence_number"], int(out.size()));
        out.push_back(std::move(data));
        pos = end;
    }
    return out;
}

struct Replay {
    std::vector<json> events;  // streaming
    json response;             // the non-streamed body, or the last event's response
};

Replay run(ReplySetup s, const ResponsesEcho& echo, const std::vector<engine::Event>& evs) {
    auto f = make_responses_format(s, echo, sample::SamplingParams{});
    std::string all = f->open();
    for (const auto& e : evs) {
        ReplyBytes b = f->push(e);
        all += b.body + b.end;
        if (!s.streaming && e.finish != engine::FinishReason::none) return {{}, json::parse(b.body)};
    }
    Replay r{events_of(all), nullptr};
    r.response = r.events.back()["response"];
    return r;
}

std::vector<std::string> types(const std::vector<json>& events) {
    std::vector<std::string> t;
    for (const auto& e : events) t.push_back(e["type"]);
    return t;
}

TEST(ResponsesReply, TextReplyObject) {
    const std::vector<engine::Event> evs = {event("Hello"), event(" there", engine::FinishReason::stop)};
    json r = run(setup(false), ResponsesEcho{}, evs).response;
    EXPECT_EQ(r["id"], "resp_1-7");
    EXPECT_EQ(r["object"], "response");
    EXPECT_EQ(r["status"], "completed");
    EXPECT_EQ(r["model"], "smollm2");
    EXPECT_EQ(r["created_at"], 1700000000);
    EXPECT_TRUE(r["incomplete_details"].is_null());
    ASSERT_EQ(r["output"].size(), 1u);
    const json& msg = r["output"][0];
    EXPECT_EQ(msg["type"], "message");
    EXPECT_EQ(msg["id"], "msg_1-7_0");
    EXPECT_EQ(msg["role"], "assistant");
    EXPECT_EQ(msg["status"], "completed");
    EXPECT_EQ(msg["content"][0]["type"], "output_text");
    EXPECT_EQ(msg["content"][0]["text"], "Hello there");
    EXPECT_EQ(msg["content"][0]["annotations"], json::array());
    EXPECT_EQ(r["usage"], json::parse(R"({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4},
        "output_tokens": 6, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 16})"));
    EXPECT_EQ(r["tools"], json::array());
    EXPECT_EQ(r["tool_choice"], "auto");
    EXPECT_EQ(r["text"], json::parse(R"({"format": {"type": "text"}})"));
    EXPECT_EQ(r["parallel_tool_calls"], true);
    EXPECT_FALSE(r.contains("output_text"));  // an SDK property, not a wire field
}

TEST(ResponsesReply, StreamedEventsAndTheSameFinalResponse) {
    const std::vector<engine::Event> evs = {event("Hel"), event("lo"), event("!", engine::FinishReason::stop)};
    Replay s = run(setup(true), ResponsesEcho{}, evs);
    EXPECT_EQ(types(s.events),
              (std::vector<std::string>{"response.created", "response.in_progress", "response.output_item.added",
                                        "response.content_part.added", "response.output_text.delta",
                                        "response.output_text.delta", "response.output_text.delta",
                                        "response.output_text.done", "response.content_part.done",
                                        "response.output_item.done", "response.completed"}));
    EXPECT_EQ(s.events[0]["response"]["status"], "in_progress");
    EXPECT_EQ(s.events[0]["response"]["output"], json::array());
    const json& delta = s.events[4];
    EXPECT_EQ(delta["item_id"], "msg_1-7_0");
    EXPECT_EQ(delta["output_index"], 0);
    EXPECT_EQ(delta["content_index"], 0);
    EXPECT_EQ(delta["delta"], "Hel");
    EXPECT_EQ(s.events[7]["text"], "Hello!");
    EXPECT_EQ(s.events[9]["item"]["status"], "completed");
    EXPECT_EQ(s.response, run(setup(false), ResponsesEcho{}, evs).response);
}

TEST(ResponsesReply, LengthIsIncomplete) {
    const std::vector<engine::Event> evs = {event("Once upon"), event(" a", engine::FinishReason::length)};
    Replay s = run(setup(true), ResponsesEcho{}, evs);
    EXPECT_EQ(s.events.back()["type"], "response.incomplete");
    json r = run(setup(false), ResponsesEcho{}, evs).response;
    EXPECT_EQ(r["status"], "incomplete");
    EXPECT_EQ(r["incomplete_details"], json({{"reason", "max_output_tokens"}}));
    EXPECT_EQ(r["output"][0]["status"], "incomplete");
    EXPECT_EQ(r, s.response);
}

TEST(ResponsesReply, ReasoningThenText) {
    ReplySetup st = setup(true);
    st.split_reasoning = true;
    const std::vector<engine::Event> evs = {event("<think>plan"), event(" it</think>"), event("\n\nAnswer"),
                                            event(".", engine::FinishReason::stop)};
    Replay s = run(st, ResponsesEcho{}, evs);
    const json& out = s.response["output"];
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0]["type"], "reasoning");
    EXPECT_EQ(out[0]["id"], "rs_1-7_0");
    EXPECT_EQ(out[0]["summary"], json::array());
    EXPECT_EQ(out[0]["content"][0], json({{"type", "reasoning_text"}, {"text", "plan it"}}));
    EXPECT_EQ(out[1]["type"], "message");
    EXPECT_EQ(out[1]["id"], "msg_1-7_1");
    EXPECT_EQ(out[1]["content"][0]["text"], "Answer.");
    EXPECT_EQ(s.response["usage"]["output_tokens_details"]["reasoning_tokens"], 2);
    std::vector<std::string> t = types(s.events);
    EXPECT_NE(std::find(t.begin(), t.end(), "response.reasoning_text.delta"), t.end());
    EXPECT_NE(std::find(t.begin(), t.end(), "response.reasoning_text.done"), t.end());
    st.streaming = false;
    EXPECT_EQ(run(st, ResponsesEcho{}, evs).response, s.response);
}

TEST(ResponsesReply, ToolCallsBecomeFunctionCallItems) {
    ReplySetup st = setup(true);
    st.tool_syntax = text::ToolSyntax::hermes;
    const std::vector<engine::Event> evs = {
        event("<tool_call>\n{\"name\": \"get_weather\", "),
        event("\"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", "
              "\"arguments\": {}}\n</tool_call>"),
        event("", engine::FinishReason::stop)};
    Replay s = run(st, ResponsesEcho{}, evs);
    const json& out = s.response["output"];
    ASSERT_EQ(out.size(), 2u);  // no message item: the model said nothing but the calls
    EXPECT_EQ(out[0]["type"], "function_call");
    EXPECT_EQ(out[0]["id"], "fc_1-7_0");
    EXPECT_EQ(out[0]["name"], "get_weather");
    EXPECT_EQ(json::parse(out[0]["arguments"].get<std::string>()), json({{"city", "Oslo"}}));
    EXPECT_EQ(out[0]["status"], "completed");
    EXPECT_TRUE(out[0]["call_id"].get<std::string>().starts_with("call_"));
    EXPECT_NE(out[0]["call_id"], out[1]["call_id"]);
    EXPECT_EQ(out[1]["name"], "get_time");
    EXPECT_EQ(types(s.events),
              (std::vector<std::string>{"response.created", "response.in_progress", "response.output_item.added",
                                        "response.function_call_arguments.delta",
                                        "response.function_call_arguments.done", "response.output_item.done",
                                        "response.output_item.added", "response.function_call_arguments.delta",
                                        "response.function_call_arguments.done", "response.output_item.done",
                                        "response.completed"}));
    EXPECT_EQ(s.events[3]["item_id"], "fc_1-7_0");
    EXPECT_EQ(s.events[2]["item"]["arguments"], "");

    st.parallel_tool_calls = false;
    EXPECT_EQ(run(st, ResponsesEcho{}, evs).response["output"].size(), 1u);
}

TEST(ResponsesReply, EmptyReplyStillHasAMessage) {
    json r = run(setup(false), ResponsesEcho{}, {event("", engine::FinishReason::stop, 0)}).response;
    ASSERT_EQ(r["output"].size(), 1u);
    EXPECT_EQ(r["output"][0]["content"][0]["text"], "");
}

TEST(ResponsesReply, EchoesTheRequest) {
    ResponsesRequest req = parse(body({{"instructions", "Be brief."}, {"metadata", {{"k", "v"}}},
                                       {"max_output_tokens", 9}, {"tools", {kWeather}}, {"temperature", 0.5},
                                       {"top_p", 0.9}, {"user", "u"}, {"reasoning", {{"effort", "low"}}}}));
    auto f = make_responses_format(setup(false), req.echo, req.gen.sampling);
    json r = json::parse(f->push(event("x", engine::FinishReason::stop)).body);
    EXPECT_EQ(r["instructions"], "Be brief.");
    EXPECT_EQ(r["metadata"], json({{"k", "v"}}));
    EXPECT_EQ(r["max_output_tokens"], 9);
    EXPECT_EQ(r["tools"][0]["name"], "get_weather");
    EXPECT_FLOAT_EQ(r["temperature"].get<float>(), 0.5f);
    EXPECT_FLOAT_EQ(r["top_p"].get<float>(), 0.9f);
    EXPECT_EQ(r["user"], "u");
    EXPECT_EQ(r["reasoning"]["effort"], "low");
    EXPECT_EQ(r["store"], false);
}

TEST(ResponsesReply, EngineErrorIsResponseFailed) {
    engine::Event e = event("", engine::FinishReason::error);
    e.error = "boom";
    Replay s = run(setup(true), ResponsesEcho{}, {event("part"), e});
    EXPECT_EQ(s.events.back()["type"], "response.failed");
    EXPECT_EQ(s.response["status"], "failed");
    EXPECT_EQ(s.response["error"]["code"], "server_error");
    auto f = make_responses_format(setup(false), ResponsesEcho{}, sample::SamplingParams{});
    EXPECT_EQ(json::parse(f->push(e).body)["error"]["type"], "server_error");
}

}  // namespace
}  // namespace hotrod::server
