// The OpenAI wire objects built from engine events: shapes as the API reference documents them, reasoning text
// routed away from content, forced tokens without a sampled log-probability, invalid UTF-8 never breaking JSON.
#include <gtest/gtest.h>

#include <cmath>

#include "server/reply.h"

namespace hotrod::server {
namespace {

engine::Event event(std::string text, engine::FinishReason finish = engine::FinishReason::none) {
    engine::Event e;
    e.text = std::move(text);
    e.finish = finish;
    return e;
}

TEST(ReplySplitter, ReasoningGoesToReasoningContent) {
    ReplySplitter s(/*split_reasoning=*/true, /*start_in_reasoning=*/false);
    std::string content, reasoning;
    for (const char* piece : {"<thi", "nk>plan", " it</th", "ink>\n\nThe answer"}) {
        ReplyDelta d = s.push(event(piece));
        content += d.content;
        reasoning += d.reasoning;
    }
    ReplyDelta d = s.push(event(".", engine::FinishReason::stop));
    content += d.content;
    reasoning += d.reasoning;
    EXPECT_EQ(reasoning, "plan it");
    EXPECT_EQ(content, "The answer.");
}

TEST(ReplySplitter, OffLeavesThinkTagsInContent) {
    ReplySplitter s(false, false);
    EXPECT_EQ(s.push(event("<think>x</think>y")).content, "<think>x</think>y");
}

TEST(ReplySplitter, StartInReasoning) {
    ReplySplitter s(true, true);
    ReplyDelta d = s.push(event("deep</think>ok", engine::FinishReason::stop));
    EXPECT_EQ(d.reasoning, "deep");
    EXPECT_EQ(d.content, "ok");
}

// Reasoning first, then the content's tool call (Qwen3 style): the call's text reaches neither stream.
TEST(ReplySplitter, ToolCallsAfterReasoning) {
    ReplySplitter s(true, false, text::ToolSyntax::hermes);
    std::string content, reasoning;
    std::vector<text::ToolCall> calls;
    for (const char* piece : {"<think>need the", " weather</think>\n\nChecking.\n<tool", "_call>\n{\"name\": \"get_weather\", ",
                              "\"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>"}) {
        ReplyDelta d = s.push(event(piece));
        content += d.content;
        reasoning += d.reasoning;
        calls.insert(calls.end(), d.calls.begin(), d.calls.end());
    }
    ReplyDelta d = s.push(event("", engine::FinishReason::stop));
    content += d.content;
    calls.insert(calls.end(), d.calls.begin(), d.calls.end());
    EXPECT_EQ(reasoning, "need the weather");
    EXPECT_EQ(content, "Checking.");
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].name, "get_weather");
    EXPECT_EQ(nlohmann::json::parse(calls[0].arguments), nlohmann::json::parse(R"({"city": "Oslo"})"));
}

TEST(ReplyJson, ToolCallsShape) {
    const text::ToolCall c{"get_weather", R"({"city":"Oslo"})"};
    const std::string id = new_tool_call_id(text::ToolSyntax::hermes);
    EXPECT_EQ(id.size(), 29u);
    EXPECT_EQ(id.substr(0, 5), "call_");
    EXPECT_EQ(new_tool_call_id(text::ToolSyntax::mistral).size(), 9u);  // Mistral's templates want 9 characters
    const nlohmann::json calls = nlohmann::json::array({tool_call_json(c, id, 0, false)});
    const nlohmann::json j = chat_completion_json({"chatcmpl-1", "m", 1}, "", "", "tool_calls", nullptr, {}, calls);
    const auto& msg = j["choices"][0]["message"];
    EXPECT_TRUE(msg["content"].is_null());
    EXPECT_EQ(msg["tool_calls"][0]["id"], id);
    EXPECT_EQ(msg["tool_calls"][0]["type"], "function");
    EXPECT_EQ(msg["tool_calls"][0]["function"]["name"], "get_weather");
    EXPECT_EQ(msg["tool_calls"][0]["function"]["arguments"], R"({"city":"Oslo"})");
    EXPECT_FALSE(msg["tool_calls"][0].contains("index"));
    EXPECT_EQ(tool_call_json(c, id, 3, true)["index"], 3);
    EXPECT_EQ(j["choices"][0]["finish_reason"], "tool_calls");
}

TEST(ReplyJson, ChatCompletionShape) {
    engine::Usage u;
    u.prompt_tokens = 10;
    u.completion_tokens = 3;
    u.cached_tokens = 4;
    const nlohmann::json j = chat_completion_json({"chatcmpl-1", "m", 123}, "hi", "", "stop", nullptr, u);
    EXPECT_EQ(j["object"], "chat.completion");
    EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
    EXPECT_EQ(j["choices"][0]["message"]["content"], "hi");
    EXPECT_FALSE(j["choices"][0]["message"].contains("reasoning_content"));
    EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
    EXPECT_TRUE(j["choices"][0]["logprobs"].is_null());
    EXPECT_EQ(j["usage"]["total_tokens"], 13);
    EXPECT_EQ(j["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
}

TEST(ReplyJson, ChunksAndUsageChunk) {
    const ReplyMeta m{"chatcmpl-2", "m", 1};
    nlohmann::json c = chat_chunk_json(m, {{"content", "a"}}, nullptr, nullptr);
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    EXPECT_TRUE(c["choices"][0]["finish_reason"].is_null());
    EXPECT_EQ(c["choices"][0]["delta"]["content"], "a");
    c = chat_chunk_json(m, nlohmann::json::object(), "length", nullptr);
    EXPECT_EQ(c["choices"][0]["finish_reason"], "length");
    const nlohmann::json u = usage_chunk_json(m, "chat.completion.chunk", engine::Usage{});
    EXPECT_TRUE(u["choices"].empty());
    EXPECT_EQ(u["usage"]["prompt_tokens"], 0);
    EXPECT_EQ(sse_event({{"a", 1}}), "data: {\"a\":1}\n\n");
}

TEST(ReplyJson, LogprobsForcedTokensAreNullAndBytesExact) {
    std::vector<engine::TokenOut> toks(2);
    toks[0].id = 1;
    toks[0].logprob = -0.5f;
    toks[0].n_top = 2;
    toks[0].top[0] = {1, -0.5f};
    toks[0].top[1] = {2, -1.5f};
    toks[1].id = 2;
    toks[1].logprob = std::nanf("");
    const PieceFn piece = [](int32_t id) -> std::string_view { return id == 1 ? "ab" : "\xc3"; };
    const nlohmann::json chat = chat_logprobs_json(toks, piece);
    ASSERT_EQ(chat.size(), 2u);
    EXPECT_EQ(chat[0]["token"], "ab");
    EXPECT_FLOAT_EQ(chat[0]["logprob"].get<float>(), -0.5f);
    EXPECT_EQ(chat[0]["bytes"], nlohmann::json({97, 98}));
    EXPECT_EQ(chat[0]["top_logprobs"].size(), 2u);
    EXPECT_TRUE(chat[1]["logprob"].is_null());
    EXPECT_EQ(chat[1]["bytes"], nlohmann::json({0xc3}));
    // Half a UTF-8 character in a token string must still serialise.
    EXPECT_NO_THROW(dump_json(chat));

    const nlohmann::json comp = completion_logprobs_json(toks, piece, 5);
    EXPECT_EQ(comp["tokens"].size(), 2u);
    EXPECT_EQ(comp["text_offset"], nlohmann::json({5, 7}));
    EXPECT_FLOAT_EQ(comp["top_logprobs"][0]["ab"].get<float>(), -0.5f);
}

}  // namespace
}  // namespace hotrod::server
