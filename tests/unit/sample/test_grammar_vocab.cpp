// The grammar over SmolLM2's real vocabulary (49152 byte-level BPE pieces, many holding half a UTF-8
// character): random walks that pick allowed tokens, with every finished output validated by Python's
// jsonschema package (the independent reference), and the trie-walk mask compared with a brute-force
// per-token check at many states.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "sample/grammar.h"
#include "text/tokenizer.h"
#include "vocab_walk.h"

namespace hotrod::sample {
namespace {

using ojson = nlohmann::ordered_json;

std::string model_path() {
    const char* dir = std::getenv("HOTROD_MODELS");
    const char* home = std::getenv("HOME");
    return (dir ? std::string(dir) : std::string(home ? home : "") + "/.cache/hotrod/models") +
           "/SmolLM2-135M-Instruct.Q4_1.gguf";
}

using Vocab = test::WalkVocab;
using test::brute_force_mask;
using test::allowed;

// Loaded once for the whole binary (the tokenizer takes ~1 s to build).
const Vocab* smollm2() { return test::walk_vocab(model_path()); }

#define VOCAB_OR_SKIP(v)                                                                          \
    const Vocab* v = smollm2();                                                                   \
    if (!v) {                                                                                     \
        const char* r = std::getenv("HOTROD_REQUIRE_MODELS");                                    \
        if (r && std::string(r) == "1") FAIL() << "missing model " << model_path();              \
        GTEST_SKIP() << "missing model " << model_path();                                         \
    }


// Schemas the walks run over: the benchmark's, 12 optional properties, nesting, anyOf/$ref/const, a bare
// number, free keys. Kept in document order (ordered_json) as the server would.
std::vector<ojson> walk_schemas() {
    std::vector<ojson> out;
    out.push_back(ojson::parse(R"({"type":"object","properties":{"phase":{"enum":["planning","implementing",
        "testing","debugging","reviewing","deploying","researching","idle"]},"scope":{"type":"string",
        "maxLength":60}},"required":["phase","scope"],"additionalProperties":false})"));
    ojson twelve = {{"type", "object"}, {"properties", ojson::object()}};
    const char* types[] = {"string", "integer", "number", "boolean"};
    for (int i = 0; i < 12; ++i) {
        std::string name = "p";
        name += std::to_string(i);
        twelve["properties"][name] = {{"type", types[i % 4]}};
        if (i % 4 == 0) twelve["properties"][name]["maxLength"] = 12;
    }
    out.push_back(twelve);
    out.push_back(ojson::parse(R"({"type":"object","properties":{"name":{"type":"string","minLength":1,
        "maxLength":20},"tags":{"type":"array","items":{"type":"string","maxLength":8},"maxItems":3},
        "meta":{"type":"object","properties":{"ok":{"type":"boolean"},"n":{"type":["integer","null"]}},
        "required":["ok"]}},"required":["name","meta"]})"));
    out.push_back(ojson::parse(R"({"$defs":{"pt":{"type":"object","properties":{"x":{"type":"number"},
        "y":{"type":"number"}},"required":["x","y"]}},"type":"object","properties":{"a":{"anyOf":[
        {"$ref":"#/$defs/pt"},{"type":"null"}]},"b":{"const":{"k":[1,2]}},"c":{"enum":[1,12,"x\u00e9"]}},
        "required":["a","b","c"]})"));
    out.push_back(ojson::parse(R"({"type":"number"})"));
    out.push_back(ojson::parse(R"({"type":"object","additionalProperties":{"type":"integer"}})"));
    return out;
}

// Picks an allowed token, leaning towards tokens that close something as the walk gets long, so walks end.
int32_t pick(const Vocab& v, const std::vector<uint64_t>& mask, std::mt19937& rng, int step_no) {
    std::vector<int32_t> all, closers;
    for (int32_t id = 0; id < static_cast<int32_t>(v.pieces.size()); ++id) {
        if (!allowed(mask, id)) continue;
        all.push_back(id);
        if (v.pieces[static_cast<size_t>(id)].find_first_of("\"}]") != std::string::npos) closers.push_back(id);
    }
    if (all.empty()) return -1;
    const double p_close = step_no > 20 ? 0.9 : 0.0;
    std::uniform_real_distribution<double> u(0, 1);
    const auto& from = (!closers.empty() && u(rng) < p_close) ? closers : all;
    return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
}

TEST(GrammarVocab, RandomWalksValidateWithJsonschema) {
    VOCAB_OR_SKIP(v);
    std::mt19937 rng(1234);
    nlohmann::json cases = nlohmann::json::array();
    std::vector<ojson> schemas = walk_schemas();
    std::vector<std::shared_ptr<const Grammar>> grammars;
    for (const auto& s : schemas) grammars.push_back(compile_json_schema(s));
    schemas.push_back(ojson{{"type", "object"}});  // response_format json_object, checked as "any object"
    grammars.push_back(compile_json_object());

    int n_finished = 0, n_walks = 0, n_brute = 0;
    for (size_t k = 0; k < grammars.size(); ++k) {
        nlohmann::json outputs = nlohmann::json::array();
        for (int walk = 0; walk < 10; ++walk, ++n_walks) {
            Matcher m(grammars[k], v->index);
            std::vector<uint64_t> mask((v->pieces.size() + 63) / 64);
            std::string text;
            bool done = false;
            for (int step_no = 0; step_no < 300 && !done; ++step_no) {
                m.fill_mask(mask);
                // The trie walk against a brute-force accept() of every token, at a few states per grammar.
                if (walk < 2 && step_no % 7 == 3) {
                    ++n_brute;
                    ASSERT_EQ(mask, brute_force_mask(*v, grammars[k], text)) << "schema " << k << " after " << text;
                }
                for (int32_t eog : v->eog) ASSERT_EQ(allowed(mask, eog), m.is_complete());
                if (m.is_finished()) break;
                if (m.is_complete() && std::uniform_int_distribution<int>(0, 3)(rng) == 0) {
                    ASSERT_TRUE(m.accept(v->eog[0]));
                    break;
                }
                // A forbidden token is refused without changing anything.
                for (int t = 0; t < 4; ++t) {
                    int32_t id = std::uniform_int_distribution<int32_t>(0, static_cast<int32_t>(v->pieces.size()) - 1)(rng);
                    if (!allowed(mask, id)) {
                        ASSERT_FALSE(m.accept(id)) << v->pieces[static_cast<size_t>(id)];
                    }
                }
                int32_t id = pick(*v, mask, rng, step_no);
                ASSERT_GE(id, 0) << "no token allowed after " << text;
                ASSERT_TRUE(m.accept(id)) << "masked-in token refused: " << v->pieces[static_cast<size_t>(id)];
                text += v->pieces[static_cast<size_t>(id)];
                done = m.is_finished();
            }
            if (m.is_complete()) {
                ++n_finished;
                outputs.push_back(text);
            }
        }
        cases.push_back({{"schema", nlohmann::json(schemas[k])}, {"outputs", outputs}});
    }
    std::printf("walks: %d of %d finished, %d states checked by brute force\n", n_finished, n_walks, n_brute);
    if (std::getenv("HOTROD_GRAMMAR_DUMP")) std::printf("%s\n", cases.dump(1).c_str());
    EXPECT_GE(n_finished, n_walks * 3 / 4) << "walks that did not end are not validated";
    EXPECT_GT(n_brute, 20);

    const char* python = std::getenv("HOTROD_PYTHON");
    if (!python || !*python) GTEST_SKIP() << "HOTROD_PYTHON not set: outputs not validated";
    const auto path = std::filesystem::temp_directory_path() / ("hotrod_grammar_walks_" + std::to_string(::getpid()) + ".json");
    std::ofstream(path) << cases.dump();
    const std::string script = std::string(HOTROD_SOURCE_DIR) + "/tests/unit/sample/check_with_jsonschema.py";
    int status = 0;
    const std::string out = test::run_command(std::string(python) + " '" + script + "' '" + path.string() + "'", status);
    std::filesystem::remove(path);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 2) GTEST_SKIP() << "jsonschema not installed";
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("checked " + std::to_string(n_finished)), std::string::npos) << out;
}

// String states around the length limits, where the walk's plain-byte shortcut and the bounded-string cache
// key decide most tokens without the automaton.
TEST(GrammarVocab, StringLimitsMaskMatchesBruteForce) {
    VOCAB_OR_SKIP(v);
    const char* schemas[] = {R"({"type":"string","minLength":5,"maxLength":7})",
                             R"({"type":"array","items":{"type":"string","minLength":3}})",
                             R"({"type":"string","maxLength":100})"};
    const char* prefixes[] = {"\"", "\"ab", "\"abcd", "\"abcdef", "\"\xc3\xa9\\n", "[\"", "[\"a\",\"xyz", "\"a\\u00"};
    for (const char* schema_text : schemas) {
        auto g = compile_json_schema(ojson::parse(schema_text));
        for (const char* prefix : prefixes) {
            Matcher m(g, v->index);
            if (!m.accept_bytes(prefix)) continue;
            std::vector<uint64_t> mask((v->pieces.size() + 63) / 64);
            for (int repeat = 0; repeat < 2; ++repeat) {  // the walk, then the cache
                m.fill_mask(mask);
                ASSERT_EQ(mask, brute_force_mask(*v, g, prefix)) << schema_text << " after " << prefix;
            }
        }
    }
}

}  // namespace
}  // namespace hotrod::sample
