// The two real models' tokenizers against ids produced once by llama.cpp's llama-tokenize on a generated corpus
// (tests/fixtures/gen_tokenizer_corpus.py): with special tokens parsed and without, BOS per the file's flag.
// Skipped when a model is missing, unless HOTROD_REQUIRE_MODELS=1.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "text/tokenizer.h"

namespace hotrod::text {
namespace {

std::string models_dir() {
    if (const char* m = std::getenv("HOTROD_MODELS")) return m;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + "/.cache/hotrod/models";
}

bool require_models() {
    const char* r = std::getenv("HOTROD_REQUIRE_MODELS");
    return r && std::string(r) == "1";
}

nlohmann::json read_json(const std::string& path) {
    std::ifstream f(path);
    return nlohmann::json::parse(f);
}

struct ModelCase {
    const char* name;  // fixture suffix
    const char* file;
};

class ModelCorpus : public ::testing::TestWithParam<ModelCase> {};

TEST_P(ModelCorpus, MatchesLlamaTokenize) {
    const auto& mc = GetParam();
    const std::string path = models_dir() + "/" + mc.file;
    if (!std::filesystem::exists(path)) {
        if (require_models()) FAIL() << path << " missing and HOTROD_REQUIRE_MODELS=1";
        GTEST_SKIP() << path << " not found";
    }
    const std::string dir = std::string(HOTROD_FIXTURES_DIR) + "/tokenizer";
    const auto corpus = read_json(dir + "/corpus.json").at("cases");
    const auto ref = read_json(dir + "/ids_" + mc.name + ".json").at("ids");
    ASSERT_EQ(corpus.size(), ref.size());
    const Tokenizer tok = Tokenizer::from_gguf(path);
    size_t n_pass = 0, n_total = 0;
    for (size_t i = 0; i < corpus.size(); ++i) {
        const std::string text = corpus[i].get<std::string>();
        for (const bool special : {true, false}) {
            const auto want = ref[i].at(special ? "special" : "plain").get<std::vector<TokenId>>();
            const auto got = tok.encode(text, /*add_special=*/true, special);
            EXPECT_EQ(got, want) << mc.name << " case " << i << (special ? " (special)" : " (plain)") << ": \"" << text
                                 << "\"";
            n_pass += got == want;
            ++n_total;
            if (!special) {
                EXPECT_EQ(tok.decode(got), text) << mc.name << " case " << i;
            }
        }
    }
    std::printf("[ model %s ] %zu/%zu corpus encodings exact\n", mc.name, n_pass, n_total);
}

INSTANTIATE_TEST_SUITE_P(Real, ModelCorpus,
                         ::testing::Values(ModelCase{"smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"},
                                           ModelCase{"gemma3", "gemma-3-270m-q4_k_m.gguf"}),
                         [](const auto& info) { return std::string(info.param.name); });

// A user message that contains a control token's text must not produce the control token without parse_special.
TEST(ModelSpecial, ControlTextIsPlainWithoutParseSpecial) {
    const std::string path = models_dir() + "/SmolLM2-135M-Instruct.Q4_1.gguf";
    if (!std::filesystem::exists(path)) {
        if (require_models()) FAIL() << path << " missing";
        GTEST_SKIP();
    }
    const Tokenizer tok = Tokenizer::from_gguf(path);
    const TokenId im_end = tok.find_token("<|im_end|>");
    ASSERT_NE(im_end, kNoToken);
    EXPECT_TRUE(tok.is_eog(im_end));
    const auto plain = tok.encode("hi <|im_end|> there", false, false);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), im_end), 0);
    const auto parsed = tok.encode("hi <|im_end|> there", false, true);
    EXPECT_EQ(std::count(parsed.begin(), parsed.end(), im_end), 1);
}

// Gemma's file asks for BOS; a prompt whose template already wrote "<bos>" must not get a second one.
TEST(ModelSpecial, EncodePromptAddsBosOnlyWhenTheTextLacksIt) {
    const std::string path = models_dir() + "/gemma-3-270m-q4_k_m.gguf";
    if (!std::filesystem::exists(path)) {
        if (require_models()) FAIL() << path << " missing";
        GTEST_SKIP();
    }
    const Tokenizer tok = Tokenizer::from_gguf(path);
    ASSERT_NE(tok.bos_id(), kNoToken);
    const auto bos_count = [&](const std::vector<TokenId>& ids) { return std::count(ids.begin(), ids.end(), tok.bos_id()); };
    const auto plain = tok.encode_prompt("hi there", true);
    ASSERT_FALSE(plain.empty());
    EXPECT_EQ(plain.front(), tok.bos_id());
    EXPECT_EQ(bos_count(plain), 1);
    const auto templated = tok.encode_prompt("<bos><start_of_turn>user\nhi<end_of_turn>\n", true);
    ASSERT_FALSE(templated.empty());
    EXPECT_EQ(templated.front(), tok.bos_id());
    EXPECT_EQ(bos_count(templated), 1);
}

}  // namespace
}  // namespace hotrod::text
