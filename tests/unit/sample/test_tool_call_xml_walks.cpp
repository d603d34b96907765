// Random walks through the xml_function tool-call grammar's masks over Qwen3.5's vocabulary (../shared/vocab):
// seeded picks among the allowed tokens, every finished reply split by ToolCallParser(xml_function) into calls,
// and every call's arguments validated against its tool's schema by Python's jsonschema
// (check_with_jsonschema.py, the independent reference). Raw string values end only at `\n</parameter>`, so the
// picks lean towards tokens that continue that text once a walk is long.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "call_fixtures.h"
#include "sample/grammar.h"
#include "text/tokenizer.h"
#include "text/tool_calls.h"
#include "vocab_walk.h"

namespace hotrod::sample {
namespace {

using test::xml;

using ojson = nlohmann::ordered_json;

using Vocab = test::WalkVocab;
using test::brute_force_mask;
using test::allowed;

const Vocab* qwen35() { return test::shared_vocab("ggml-vocab-qwen35.gguf"); }

const ojson kTools = ojson::parse(R"([
  {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {
    "city": {"type": "string", "maxLength": 24}, "unit": {"type": "string", "enum": ["C", "F"]},
    "days": {"type": "integer"}, "note": {"type": "string"}}, "required": ["city", "unit"],
    "additionalProperties": false}}},
  {"type": "function", "function": {"name": "search", "parameters": {"type": "object", "properties": {
    "query": {"type": "string", "minLength": 1, "maxLength": 30}, "tags": {"type": "array", "items": {
    "type": "string", "maxLength": 8}, "maxItems": 3}, "exact": {"type": "boolean"}, "mode": {"enum": ["a", 1]}},
    "required": ["query"]}}},
  {"type": "function", "function": {"name": "ping"}}
])");

std::vector<ToolSpec> specs() { return test::strict_specs(kTools); }


// An allowed token; once the walk is long, mostly one that closes a JSON value or continues the raw terminator
// `\n</parameter>` from as much of it as the text ends with, so walks end.
int32_t pick(const Vocab& v, const std::vector<uint64_t>& mask, const std::string& text, std::mt19937& rng,
             int step_no) {
    static const std::string kEnd = "\n</parameter>\n";
    size_t k = std::min(text.size(), kEnd.size() - 1);
    while (k > 0 && text.compare(text.size() - k, k, kEnd, 0, k) != 0) --k;
    const std::string rest = kEnd.substr(k);
    std::vector<int32_t> all, closers;
    for (int32_t id = 0; id < static_cast<int32_t>(v.pieces.size()); ++id) {
        if (!allowed(mask, id)) continue;
        all.push_back(id);
        const std::string& p = v.pieces[static_cast<size_t>(id)];
        if (p.empty()) continue;
        const bool continues = rest.compare(0, p.size(), p) == 0 || p.compare(0, rest.size(), rest) == 0;
        if (continues || p.find_first_of("\"}]") != std::string::npos) closers.push_back(id);
    }
    if (all.empty()) return -1;
    const bool close = step_no > 12 && !closers.empty() && std::uniform_int_distribution<int>(0, 9)(rng) < 9;
    const auto& from = close ? closers : all;
    return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
}

TEST(ToolCallXmlWalks, EveryFinishedReplyParsesIntoValidCalls) {
    const Vocab* v = qwen35();
    if (!v) GTEST_SKIP() << "no ../shared/vocab/ggml-vocab-qwen35.gguf";
    std::mt19937 rng(20261206);
    std::map<std::string, ojson> outputs;  // tool name -> arguments seen
    int n_walks = 0, n_finished = 0, n_calls = 0;
    const int32_t eog = v->tok->eos_id();
    for (const bool lazy : {false, true}) {
        ToolCallOptions o;
        o.lazy = lazy;
        o.max_calls = 3;
        auto g = compile_tool_calls(xml(), specs(), o);
        for (int walk = 0; walk < 20; ++walk, ++n_walks) {
            Matcher m(g, v->index);
            std::vector<uint64_t> mask((v->pieces.size() + 63) / 64);
            std::string text;
            if (lazy) {
                // A few free tokens, then the marker as the tokenizer spells it, inside the text.
                for (int i = 0; i < 3; ++i) {
                    m.fill_mask(mask);
                    const int32_t id = pick(*v, mask, text, rng, 0);
                    ASSERT_TRUE(m.accept(id));
                    text += v->pieces[static_cast<size_t>(id)];
                }
                for (int32_t id : v->tok->encode(" <tool_call>", false, false)) {
                    m.fill_mask(mask);
                    ASSERT_TRUE(allowed(mask, id)) << "marker token refused: " << v->pieces[static_cast<size_t>(id)];
                    ASSERT_TRUE(m.accept(id));
                    text += v->pieces[static_cast<size_t>(id)];
                }
            }
            for (int step_no = 0; step_no < 600; ++step_no) {
                if (m.is_finished()) break;
                m.fill_mask(mask);
                ASSERT_EQ(allowed(mask, eog), m.is_complete());
                if (m.is_complete() && std::uniform_int_distribution<int>(0, 2)(rng) == 0) {
                    ASSERT_TRUE(m.accept(eog));
                    break;
                }
                const int32_t id = pick(*v, mask, text, rng, step_no);
                ASSERT_GE(id, 0) << "no token allowed after " << text;
                ASSERT_TRUE(m.accept(id));
                text += v->pieces[static_cast<size_t>(id)];
            }
            if (!m.is_complete()) continue;  // a walk cut off by the step bound: nothing to check
            ++n_finished;
            if (std::getenv("HOTROD_GRAMMAR_DUMP")) std::printf("%s\n---\n", text.c_str());
            const text::ToolCallDelta d = text::parse_tool_calls(text::ToolSyntax::xml_function, text, &kTools);
            ASSERT_FALSE(d.calls.empty()) << "no call parsed from " << text;
            ASSERT_LE(d.calls.size(), 3u);
            if (!lazy) {
                EXPECT_EQ(d.content, "") << text;
            }
            const size_t n_marked = [&] {
                size_t n = 0;
                for (size_t at = text.find("</tool_call>"); at != std::string::npos; at = text.find("</tool_call>", at + 1)) ++n;
                return n;
            }();
            EXPECT_EQ(d.calls.size(), n_marked) << "a call came back as content: " << text;
            for (const auto& c : d.calls) {
                ++n_calls;
                if (!outputs.count(c.name)) outputs[c.name] = ojson::array();
                outputs[c.name].push_back(c.arguments);
            }
        }
    }
    std::printf("xml tool-call walks: %d of %d finished, %d calls\n", n_finished, n_walks, n_calls);
    EXPECT_GE(n_finished, n_walks * 3 / 4);
    EXPECT_GE(n_calls, 25);

    test::check_tool_outputs(kTools, outputs, n_calls);
}

// The mask (walked, then from the cache, which shares one entry among raw counts far from the limits) equals
// token-by-token acceptance, near the terminator and the length limits, and in a JSON string after '<'.
TEST(ToolCallXmlWalks, MaskMatchesBruteForce) {
    const Vocab* v = qwen35();
    if (!v) GTEST_SKIP() << "no ../shared/vocab/ggml-vocab-qwen35.gguf";
    auto g = compile_tool_calls(xml(), {ToolSpec{"f", ojson::parse(R"({"type": "object", "properties": {
        "text": {"type": "string", "minLength": 2, "maxLength": 300}, "note": {"type": "string", "minLength": 20},
        "tags": {"type": "array", "items":
        {"type": "string"}}}, "required": ["text"]})"), true, "t"}}, {});
    const std::string head = "<tool_call>\n<function=f>\n<parameter=text>\n";
    const std::string tags = head + "ab\n</parameter>\n<parameter=tags>\n[\"a<";
    const std::string note = head + "ab\n</parameter>\n<parameter=note>\n";
    for (const std::string& prefix : {head, head + "a", head + "ab\n", head + "ab\n</param", head + std::string(150, 'x'),
                                      head + std::string(151, 'x'), head + std::string(150, 'x') + "\n</",
                                      head + std::string(295, 'y'), head + std::string(300, 'y') + "\n", tags,
                                      note, note + "abc", note + std::string(30, 'z'), note + std::string(30, 'z') + "\n<"}) {
        Matcher m(g, v->index);
        ASSERT_TRUE(m.accept_bytes(prefix)) << prefix;
        std::vector<uint64_t> mask((v->pieces.size() + 63) / 64);
        const std::vector<uint64_t> expected = brute_force_mask(*v, g, prefix);
        for (int repeat = 0; repeat < 2; ++repeat) {
            m.fill_mask(mask);
            ASSERT_EQ(mask, expected) << "after " << prefix.size() << " bytes: " << prefix;
        }
    }
}

}  // namespace
}  // namespace hotrod::sample
