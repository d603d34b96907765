// Exact token ids for every reference case in ../shared/vocab (ggml-vocab-NAME.gguf with its .inp/.out pairs):
// the expected ids come from the reference implementation's own test data. Vocabularies load through gguf::File.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "text/tokenizer.h"

namespace hotrod::text {
namespace {

std::string vocab_dir() { return std::string(HOTROD_SOURCE_DIR) + "/../shared/vocab"; }

std::string read_all(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

struct Case {
    std::string text;
    std::vector<TokenId> ids;
};

// .inp: strings each followed by "\n__ggml_vocab_test__\n"; .out: one line of ids per string.
std::vector<Case> read_cases(const std::string& base) {
    const std::string inp = read_all(base + ".inp");
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<Case> cases;
    for (size_t pos = 0; pos < inp.size();) {
        const size_t end = inp.find(sep, pos);
        if (end == std::string::npos) break;
        cases.push_back({inp.substr(pos, end - pos), {}});
        pos = end + sep.size();
    }
    std::ifstream out(base + ".out");
    std::string line;
    for (auto& c : cases) {
        if (!std::getline(out, line)) break;
        std::istringstream ls(line);
        TokenId id;
        while (ls >> id) c.ids.push_back(id);
    }
    return cases;
}

class VocabCases : public ::testing::TestWithParam<const char*> {};

TEST_P(VocabCases, ExactIds) {
    const std::string base = vocab_dir() + "/ggml-vocab-" + GetParam() + ".gguf";
    if (!std::filesystem::exists(base)) GTEST_SKIP() << base << " not found";
    const Tokenizer tok = Tokenizer::from_gguf(base);
    const auto cases = read_cases(base);
    ASSERT_GT(cases.size(), 10u);
    size_t n_pass = 0;
    for (const auto& c : cases) {
        const auto ids = tok.encode(c.text, /*add_special=*/false, /*parse_special=*/false);
        EXPECT_EQ(ids, c.ids) << GetParam() << ": \"" << c.text << "\"";
        n_pass += ids == c.ids;
        // Every case also survives the round trip (these vocabularies cover all of their inputs' bytes).
        EXPECT_EQ(tok.decode(ids), c.text) << GetParam() << ": \"" << c.text << "\"";
    }
    std::printf("[ vocab %s ] %zu/%zu cases exact\n", GetParam(), n_pass, cases.size());
}

INSTANTIATE_TEST_SUITE_P(Shared, VocabCases,
                         ::testing::Values("qwen2", "qwen35", "llama-bpe", "gpt-2", "llama-spm", "phi-3"),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (char& c : n)
                                 if (c == '-') c = '_';
                             return n;
                         });

}  // namespace
}  // namespace hotrod::text
