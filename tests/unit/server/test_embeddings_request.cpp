// /v1/embeddings bodies: every accepted input shape lands in EmbeddingsRequest as the handler needs it, every bad
// field is a 400 naming it; the reply body's shape and its base64 (checked against known RFC 4648 vectors of
// float32 bytes); the pooling choice at load.
#include <gtest/gtest.h>

#include <cstring>

#include "server/api_error.h"
#include "server/embeddings_request.h"
#include "server/loaded_model.h"

namespace hotrod::server {
namespace {

constexpr int32_t kVocab = 1000;
using nlohmann::ordered_json;

std::pair<int, std::string> error_of(const ordered_json& body) {
    try {
        parse_embeddings_request(body, kVocab);
    } catch (const ApiError& e) {
        return {e.status(), e.param()};
    }
    return {0, ""};
}

TEST(EmbeddingsRequest, OneString) {
    const auto r = parse_embeddings_request({{"input", "hello"}, {"model", "m"}, {"user", "u"}}, kVocab);
    ASSERT_EQ(r.inputs.size(), 1u);
    EXPECT_EQ(r.inputs[0].text, "hello");
    EXPECT_FALSE(r.inputs[0].is_ids);
    EXPECT_EQ(r.model, "m");
    EXPECT_FALSE(r.base64);
}

TEST(EmbeddingsRequest, ArrayOfStringsKeepsOrder) {
    const auto r = parse_embeddings_request({{"input", {"a", "b", "c"}}}, kVocab);
    ASSERT_EQ(r.inputs.size(), 3u);
    EXPECT_EQ(r.inputs[2].text, "c");
}

TEST(EmbeddingsRequest, TokenArrayIsOneInput) {
    const auto r = parse_embeddings_request({{"input", {1, 2, 999}}}, kVocab);
    ASSERT_EQ(r.inputs.size(), 1u);
    EXPECT_TRUE(r.inputs[0].is_ids);
    EXPECT_EQ(r.inputs[0].ids, (std::vector<int32_t>{1, 2, 999}));
}

TEST(EmbeddingsRequest, ArrayOfTokenArraysAndMixedWithStrings) {
    const auto r = parse_embeddings_request({{"input", ordered_json::array({{5, 6}, "text", {7}})}}, kVocab);
    ASSERT_EQ(r.inputs.size(), 3u);
    EXPECT_EQ(r.inputs[0].ids, (std::vector<int32_t>{5, 6}));
    EXPECT_EQ(r.inputs[1].text, "text");
    EXPECT_EQ(r.inputs[2].ids, (std::vector<int32_t>{7}));
}

TEST(EmbeddingsRequest, EncodingFormat) {
    EXPECT_TRUE(parse_embeddings_request({{"input", "x"}, {"encoding_format", "base64"}}, kVocab).base64);
    EXPECT_FALSE(parse_embeddings_request({{"input", "x"}, {"encoding_format", "float"}}, kVocab).base64);
    EXPECT_FALSE(parse_embeddings_request({{"input", "x"}, {"encoding_format", nullptr}}, kVocab).base64);
}

TEST(EmbeddingsRequest, BadFieldsAre400NamingThem) {
    const std::pair<int, std::string> input{400, "input"};
    EXPECT_EQ(error_of(ordered_json::object()), input);
    EXPECT_EQ(error_of({{"input", nullptr}}), input);
    EXPECT_EQ(error_of({{"input", ""}}), input);
    EXPECT_EQ(error_of({{"input", ordered_json::array()}}), input);
    EXPECT_EQ(error_of({{"input", {"a", ""}}}), input);
    EXPECT_EQ(error_of({{"input", ordered_json::array({{1}, ordered_json::array()})}}), input);
    EXPECT_EQ(error_of({{"input", ordered_json::array({1, "a"})}}), input);
    EXPECT_EQ(error_of({{"input", ordered_json::array({1.5})}}), input);
    EXPECT_EQ(error_of({{"input", 3}}), input);
    EXPECT_EQ(error_of({{"input", {{"k", "v"}}}}), input);
    EXPECT_EQ(error_of({{"input", {kVocab}}}), input);
    EXPECT_EQ(error_of({{"input", {-1}}}), input);
    EXPECT_EQ(error_of({{"input", ordered_json::array({ordered_json::array({1, kVocab})})}}), input);
    EXPECT_EQ(error_of({{"input", std::vector<std::string>(kMaxEmbeddingInputs + 1, "x")}}), input);
    EXPECT_EQ(error_of({{"input", std::vector<std::string>(kMaxEmbeddingInputs, "x")}}), (std::pair<int, std::string>{0, ""}));
    EXPECT_EQ(error_of({{"input", "x"}, {"dimensions", 64}}), (std::pair<int, std::string>{400, "dimensions"}));
    EXPECT_EQ(error_of({{"input", "x"}, {"encoding_format", "int8"}}),
              (std::pair<int, std::string>{400, "encoding_format"}));
    EXPECT_EQ(error_of({{"input", "x"}, {"encoding_format", 1}}), (std::pair<int, std::string>{400, "encoding_format"}));
    EXPECT_EQ(error_of({{"input", "x"}, {"model", 7}}), (std::pair<int, std::string>{400, "model"}));
    // A null dimensions is "not set", as OpenAI clients send it.
    EXPECT_EQ(error_of({{"input", "x"}, {"dimensions", nullptr}}), (std::pair<int, std::string>{0, ""}));
}

TEST(EmbeddingsBase64, LittleEndianFloat32Bytes) {
    // 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0 (little-endian); base64 of those 8 bytes.
    EXPECT_EQ(base64_floats({1.0f}), "AACAPw==");
    EXPECT_EQ(base64_floats({1.0f, -2.0f}), "AACAPwAAAMA=");
    EXPECT_EQ(base64_floats({0.0f, 0.0f, 0.0f}), "AAAAAAAAAAAAAAAA");
    EXPECT_EQ(base64_floats({}), "");
}

TEST(EmbeddingsBody, OpenAiShape) {
    const auto body = nlohmann::json::parse(embeddings_body("m", {{0.5f, -0.25f}, {1.0f, 0.1f}}, false, 7));
    EXPECT_EQ(body["object"], "list");
    EXPECT_EQ(body["model"], "m");
    ASSERT_EQ(body["data"].size(), 2u);
    EXPECT_EQ(body["data"][1]["object"], "embedding");
    EXPECT_EQ(body["data"][1]["index"], 1);
    EXPECT_EQ(body["data"][0]["embedding"], nlohmann::json({0.5, -0.25}));
    // 0.1f is written as "0.1", which reads back as the same float32.
    EXPECT_EQ(float(body["data"][1]["embedding"][1].get<double>()), 0.1f);
    EXPECT_EQ(body["usage"], nlohmann::json({{"prompt_tokens", 7}, {"total_tokens", 7}}));
    const auto b64 = nlohmann::json::parse(embeddings_body("m", {{1.0f}}, true, 1));
    EXPECT_EQ(b64["data"][0]["embedding"], "AACAPw==");
    const auto nan = nlohmann::json::parse(embeddings_body("m", {{std::nanf("")}}, false, 1));
    EXPECT_TRUE(nan["data"][0]["embedding"][0].is_null());
}

TEST(ChoosePooling, FlagThenFileElseRefused) {
    EXPECT_EQ(choose_pooling("last", 1, "llama"), engine::Pooling::last);  // the flag overrides the file
    EXPECT_EQ(choose_pooling("", 1, "bert"), engine::Pooling::mean);
    EXPECT_EQ(choose_pooling("", 2, "bert"), engine::Pooling::cls);
    EXPECT_EQ(choose_pooling("", 3, "qwen3"), engine::Pooling::last);
    for (const int none : {-1, 0, 4}) {
        try {
            choose_pooling("", none, "llama");
            ADD_FAILURE() << "pooling_type " << none << " accepted";
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find("--pooling mean|cls|last"), std::string::npos) << e.what();
        }
    }
    EXPECT_THROW(choose_pooling("max", 1, "llama"), std::runtime_error);
}

}  // namespace
}  // namespace hotrod::server
