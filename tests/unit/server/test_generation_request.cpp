// Request parsing and validation: every bad field is a 400 naming it (the param OpenAI clients show), good
// bodies land in the right GenerationRequest fields. No model: n_vocab and the context are given.
#include <gtest/gtest.h>

#include "server/api_error.h"
#include "server/generation_request.h"
#include "server/json_fields.h"

namespace hotrod::server {
namespace {

constexpr int32_t kVocab = 1000;
constexpr int32_t kCtx = 2048;

nlohmann::ordered_json chat(nlohmann::ordered_json extra = nlohmann::json::object()) {
    nlohmann::ordered_json b = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
    for (auto it = extra.begin(); it != extra.end(); ++it) b[it.key()] = it.value();
    return b;
}

// The status and param of the ApiError a parse throws; {0, ""} when it does not throw.
std::pair<int, std::string> chat_error(const nlohmann::ordered_json& body) {
    try {
        parse_chat_request(body, kVocab, kCtx);
    } catch (const ApiError& e) {
        return {e.status(), e.param()};
    }
    return {0, ""};
}

std::pair<int, std::string> completion_error(const nlohmann::ordered_json& body) {
    try {
        parse_completion_request(body, kVocab, kCtx);
    } catch (const ApiError& e) {
        return {e.status(), e.param()};
    }
    return {0, ""};
}

TEST(ParseBody, InvalidJsonAndNonObjectsAre400) {
    for (const char* text : {"", "{", "[1,2]", "\"x\"", "{\"a\":}", "nul"}) {
        try {
            parse_body(text);
            ADD_FAILURE() << "accepted: " << text;
        } catch (const ApiError& e) {
            EXPECT_EQ(e.status(), 400) << text;
        }
    }
    EXPECT_TRUE(parse_body("{\"a\": 1}").is_object());
}

TEST(ChatRequest, ReadsTheFields) {
    const GenerationRequest r = parse_chat_request(
        chat({{"temperature", 0.5}, {"top_p", 0.9}, {"top_k", 40}, {"min_p", 0.05}, {"seed", 7},
              {"max_tokens", 10}, {"max_completion_tokens", 12}, {"stop", "END"}, {"stream", true},
              {"stream_options", {{"include_usage", true}}}, {"presence_penalty", 0.5},
              {"frequency_penalty", -0.5}, {"repeat_penalty", 1.1}, {"logit_bias", {{"5", -100}, {"7", 2.5}}},
              {"logprobs", true}, {"top_logprobs", 3}, {"ignore_eos", true},
              {"chat_template_kwargs", {{"enable_thinking", false}}}, {"unknown_field", {1, 2, 3}}}),
        kVocab, kCtx);
    EXPECT_FLOAT_EQ(r.sampling.temperature, 0.5f);
    EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
    EXPECT_EQ(r.sampling.top_k, 40);
    EXPECT_FLOAT_EQ(r.sampling.min_p, 0.05f);
    ASSERT_TRUE(r.sampling.seed);
    EXPECT_EQ(*r.sampling.seed, 7u);
    EXPECT_EQ(r.max_tokens, 12);  // max_completion_tokens wins
    EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
    EXPECT_TRUE(r.stream);
    EXPECT_TRUE(r.include_usage);
    EXPECT_FLOAT_EQ(r.sampling.repetition_penalty, 1.1f);
    ASSERT_EQ(r.sampling.logit_bias.size(), 2u);
    EXPECT_TRUE(r.sampling.logprobs);
    EXPECT_EQ(r.sampling.n_top_logprobs, 3);
    EXPECT_TRUE(r.ignore_eos);
    ASSERT_TRUE(r.enable_thinking);
    EXPECT_FALSE(*r.enable_thinking);
    EXPECT_EQ(r.model, "m");
}

TEST(ChatRequest, TextPartsAreJoinedAndDeveloperIsSystem) {
    const GenerationRequest r = parse_chat_request(
        {{"messages",
          {{{"role", "developer"}, {"content", "be brief"}},
           {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "a"}}, {{"type", "text"}, {"text", "b"}}}}},
           {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", nlohmann::json::array({{{"id", "1"}}})}},
           {{"role", "tool"}, {"content", "42"}, {"tool_call_id", "1"}}}}},
        kVocab, kCtx);
    ASSERT_EQ(r.messages.size(), 4u);
    EXPECT_EQ(r.messages[0]["role"], "system");
    EXPECT_EQ(r.messages[1]["content"], "a\nb");
    EXPECT_TRUE(r.messages[2]["content"].is_null());
    EXPECT_EQ(r.messages[3]["tool_call_id"], "1");
}

TEST(ChatRequest, MessagesErrors) {
    EXPECT_EQ(chat_error({{"model", "m"}}).second, "messages");
    EXPECT_EQ(chat_error({{"messages", nlohmann::json::array()}}).second, "messages");
    EXPECT_EQ(chat_error({{"messages", "hi"}}).second, "messages");
    EXPECT_EQ(chat_error({{"messages", {1}}}).second, "messages[0]");
    EXPECT_EQ(chat_error({{"messages", {{{"role", "wizard"}, {"content", "x"}}}}}).second, "messages[0].role");
    EXPECT_EQ(chat_error({{"messages", {{{"role", "user"}}}}}).second, "messages[0].content");
    EXPECT_EQ(chat_error({{"messages", {{{"role", "user"}, {"content", 5}}}}}).second, "messages[0].content");
    EXPECT_EQ(chat_error({{"messages", {{{"role", "user"},
                                        {"content", {{{"type", "image_url"}, {"image_url", "x"}}}}}}}})
                  .second,
              "messages[0].content[0].type");
}

TEST(ChatRequest, WrongTypesAndRangesNameTheField) {
    const std::vector<std::pair<nlohmann::ordered_json, std::string>> cases = {
        {{{"temperature", "hot"}}, "temperature"},
        {{{"temperature", -1}}, "temperature"},
        {{{"top_p", 0}}, "top_p"},
        {{{"top_p", 1.5}}, "top_p"},
        {{{"min_p", 2}}, "min_p"},
        {{{"top_k", 2.5}}, "top_k"},
        {{{"max_tokens", 0}}, "max_tokens"},
        {{{"max_tokens", -5}}, "max_tokens"},
        {{{"max_tokens", kCtx + 1}}, "max_tokens"},
        {{{"max_tokens", "10"}}, "max_tokens"},
        {{{"max_completion_tokens", 0}}, "max_completion_tokens"},
        {{{"n", 2}}, "n"},
        {{{"stream", "yes"}}, "stream"},
        {{{"stop", 5}}, "stop"},
        {{{"stop", {"a", "b", "c", "d", "e"}}}, "stop"},
        {{{"stop", {"a", 1}}}, "stop"},
        {{{"seed", "x"}}, "seed"},
        {{{"logit_bias", {{"abc", 1}}}}, "logit_bias"},
        {{{"logit_bias", {{"5", "x"}}}}, "logit_bias"},
        {{{"logit_bias", {{"5", 500}}}}, "logit_bias"},
        {{{"logit_bias", {{"999999", 1}}}}, "logit_bias"},  // outside the vocabulary
        {{{"logit_bias", 3}}, "logit_bias"},
        {{{"logprobs", 1}}, "logprobs"},
        {{{"top_logprobs", 3}}, "top_logprobs"},  // needs logprobs
        {{{"logprobs", true}, {"top_logprobs", 21}}, "top_logprobs"},
        {{{"response_format", "json"}}, "response_format"},
        {{{"response_format", {{"type", "xml"}}}}, "response_format"},
        {{{"response_format", {{"type", "json_schema"}}}}, "response_format"},
        {{{"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "x"}}}}}}, "response_format"},
        {{{"stream_options", 1}}, "stream_options"},
        {{{"chat_template_kwargs", {{"enable_thinking", "no"}}}}, "enable_thinking"},
        {{{"model", 3}}, "model"},
        {{{"presence_penalty", "a"}}, "presence_penalty"},
        {{{"repeat_penalty", 0}}, "repetition_penalty"},
    };
    for (const auto& [extra, param] : cases) {
        const auto [status, got] = chat_error(chat(extra));
        EXPECT_EQ(status, 400) << extra.dump();
        EXPECT_EQ(got, param) << extra.dump();
    }
}

TEST(ChatRequest, NullsMeanDefaultsAndWholeFloatsAreIntegers) {
    const GenerationRequest r =
        parse_chat_request(chat({{"temperature", nullptr}, {"max_tokens", 16.0}, {"stop", nullptr}}), kVocab, kCtx);
    EXPECT_FLOAT_EQ(r.sampling.temperature, 1.0f);
    EXPECT_EQ(r.max_tokens, 16);
    EXPECT_TRUE(r.stop.empty());
}

TEST(ChatRequest, ResponseFormats) {
    const nlohmann::ordered_json schema = {{"type", "object"}, {"properties", {{"a", {{"type", "string"}}}}}};
    GenerationRequest r = parse_chat_request(
        chat({{"response_format", {{"type", "json_schema"}, {"json_schema", {{"schema", schema}, {"strict", true}}}}}}),
        kVocab, kCtx);
    EXPECT_EQ(r.response_format.kind, ResponseFormat::Kind::json_schema);
    EXPECT_EQ(r.response_format.schema, schema);
    EXPECT_TRUE(r.response_format.strict);
    r = parse_chat_request(chat({{"response_format", {{"type", "json_object"}}}}), kVocab, kCtx);
    EXPECT_EQ(r.response_format.kind, ResponseFormat::Kind::json_object);
    r = parse_chat_request(chat({{"response_format", {{"type", "text"}}}}), kVocab, kCtx);
    EXPECT_EQ(r.response_format.kind, ResponseFormat::Kind::text);
}

TEST(CompletionRequest, PromptShapes) {
    GenerationRequest r = parse_completion_request({{"prompt", "hello"}, {"logprobs", 2}}, kVocab, kCtx);
    EXPECT_EQ(r.prompt_text, "hello");
    EXPECT_FALSE(r.prompt_is_ids);
    EXPECT_TRUE(r.sampling.logprobs);
    EXPECT_EQ(r.sampling.n_top_logprobs, 2);
    r = parse_completion_request({{"prompt", {1, 2, 3}}}, kVocab, kCtx);
    EXPECT_TRUE(r.prompt_is_ids);
    EXPECT_EQ(r.prompt_ids, (std::vector<int32_t>{1, 2, 3}));
    r = parse_completion_request({{"prompt", {"one"}}}, kVocab, kCtx);
    EXPECT_EQ(r.prompt_text, "one");
    r = parse_completion_request({{"prompt", {{4, 5}}}}, kVocab, kCtx);
    EXPECT_EQ(r.prompt_ids, (std::vector<int32_t>{4, 5}));
}

TEST(CompletionRequest, Errors) {
    EXPECT_EQ(completion_error(nlohmann::json::object()).second, "prompt");
    EXPECT_EQ(completion_error({{"prompt", ""}}).second, "prompt");
    EXPECT_EQ(completion_error({{"prompt", 5}}).second, "prompt");
    EXPECT_EQ(completion_error({{"prompt", nlohmann::json::array()}}).second, "prompt");
    EXPECT_EQ(completion_error({{"prompt", {1, kVocab}}}).second, "prompt");
    EXPECT_EQ(completion_error({{"prompt", {1, -1}}}).second, "prompt");
    EXPECT_EQ(completion_error({{"prompt", {"a", "b"}}}).second, "prompt");
    EXPECT_EQ(completion_error({{"prompt", "x"}, {"logprobs", 50}}).second, "logprobs");
    EXPECT_EQ(completion_error({{"prompt", "x"}, {"logprobs", "2"}}).second, "logprobs");
    EXPECT_EQ(completion_error({{"prompt", "x"}, {"max_tokens", 0}}).second, "max_tokens");
}

TEST(ApiErrorBody, HasTheOpenAiShape) {
    const nlohmann::json b = bad_request("bad thing", "temperature").body();
    ASSERT_TRUE(b.contains("error"));
    EXPECT_EQ(b["error"]["message"], "bad thing");
    EXPECT_EQ(b["error"]["type"], "invalid_request_error");
    EXPECT_EQ(b["error"]["param"], "temperature");
    EXPECT_TRUE(b["error"]["code"].is_null());
    EXPECT_EQ(not_found("x", "model", "model_not_found").body()["error"]["code"], "model_not_found");
    EXPECT_EQ(unauthorized("x").status(), 401);
    EXPECT_EQ(method_not_allowed("x").status(), 405);
    EXPECT_EQ(payload_too_large("x").status(), 413);
    EXPECT_EQ(unavailable("x").status(), 503);
}

}  // namespace
}  // namespace hotrod::server
