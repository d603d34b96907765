// Random walks through the tool-call grammar's masks over a real vocabulary (Qwen2's 151936 byte-level BPE
// pieces, ../shared/vocab): seeded picks among the allowed tokens, every finished reply split by the
// ToolCallParser (text/tool_calls.h) into calls, and every call's arguments validated against its tool's schema by
// Python's jsonschema (check_with_jsonschema.py, the independent reference).
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

using test::hermes;

using ojson = nlohmann::ordered_json;

using Vocab = test::WalkVocab;
using test::allowed;

const Vocab* qwen2() { return test::shared_vocab("ggml-vocab-qwen2.gguf"); }

const ojson kTools = ojson::parse(R"([
  {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {
    "city": {"type": "string", "maxLength": 24}, "unit": {"enum": ["C", "F"]}, "days": {"type": "integer"}},
    "required": ["city", "unit"], "additionalProperties": false}}},
  {"type": "function", "function": {"name": "search", "parameters": {"type": "object", "properties": {
    "query": {"type": "string", "minLength": 1, "maxLength": 30}, "tags": {"type": "array", "items": {
    "type": "string", "maxLength": 8}, "maxItems": 3}, "exact": {"type": "boolean"}}, "required": ["query"]}}},
  {"type": "function", "function": {"name": "ping"}}
])");

std::vector<ToolSpec> specs() { return test::strict_specs(kTools); }


// An allowed token, leaning towards ones that close a string or a value once the walk is long, so walks end.
int32_t pick(const Vocab& v, const std::vector<uint64_t>& mask, std::mt19937& rng, int step_no) {
    std::vector<int32_t> all, closers;
    for (int32_t id = 0; id < static_cast<int32_t>(v.pieces.size()); ++id) {
        if (!allowed(mask, id)) continue;
        all.push_back(id);
        if (v.pieces[static_cast<size_t>(id)].find_first_of("\"}]") != std::string::npos) closers.push_back(id);
    }
    if (all.empty()) return -1;
    const bool close = step_no > 12 && !closers.empty() && std::uniform_int_distribution<int>(0, 9)(rng) < 9;
    const auto& from = close ? closers : all;
    return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
}

TEST(ToolCallWalks, EveryFinishedReplyParsesIntoValidCalls) {
    const Vocab* v = qwen2();
    if (!v) GTEST_SKIP() << "no ../shared/vocab/ggml-vocab-qwen2.gguf";
    std::mt19937 rng(20240615);
    std::map<std::string, ojson> outputs;  // tool name -> arguments seen
    int n_walks = 0, n_finished = 0, n_calls = 0, n_free = 0;
    const int32_t eog = v->tok->eos_id();
    for (const bool lazy : {false, true}) {
        ToolCallOptions o;
        o.lazy = lazy;
        o.max_calls = 3;
        auto g = compile_tool_calls(hermes(), specs(), o);
        for (int walk = 0; walk < 20; ++walk, ++n_walks) {
            Matcher m(g, v->index);
            std::vector<uint64_t> mask((v->pieces.size() + 63) / 64);
            std::string text;
            if (lazy) {
                // A few free tokens, then (most walks) the marker as the tokenizer spells it, inside the text.
                for (int i = 0; i < 3; ++i) {
                    m.fill_mask(mask);
                    const int32_t id = pick(*v, mask, rng, 0);
                    ASSERT_TRUE(m.accept(id));
                    text += v->pieces[static_cast<size_t>(id)];
                }
                if (walk % 5 == 0) {
                    ++n_free;
                } else {
                    for (int32_t id : v->tok->encode(" <tool_call>", false, false)) {
                        m.fill_mask(mask);
                        ASSERT_TRUE(allowed(mask, id)) << "marker token refused: " << v->pieces[static_cast<size_t>(id)];
                        ASSERT_TRUE(m.accept(id));
                        text += v->pieces[static_cast<size_t>(id)];
                    }
                }
            }
            bool ended = false;
            for (int step_no = 0; step_no < 400 && !ended; ++step_no) {
                if (m.is_finished()) break;
                m.fill_mask(mask);
                ASSERT_EQ(allowed(mask, eog), m.is_complete());
                if (m.is_complete() && (lazy && walk % 5 == 0 ? true : std::uniform_int_distribution<int>(0, 2)(rng) == 0)) {
                    ASSERT_TRUE(m.accept(eog));
                    ended = true;
                    break;
                }
                const int32_t id = pick(*v, mask, rng, step_no);
                ASSERT_GE(id, 0) << "no token allowed after " << text;
                ASSERT_TRUE(m.accept(id));
                text += v->pieces[static_cast<size_t>(id)];
            }
            if (!m.is_complete()) continue;  // a walk cut off by the step bound: nothing to check
            ++n_finished;
            if (std::getenv("HOTROD_GRAMMAR_DUMP")) std::printf("%s\n---\n", text.c_str());
            const text::ToolCallDelta d = text::parse_tool_calls(text::ToolSyntax::hermes, text, &kTools);
            if (lazy && walk % 5 == 0) {
                EXPECT_TRUE(d.calls.empty()) << text;
                continue;
            }
            ASSERT_FALSE(d.calls.empty()) << "no call parsed from " << text;
            ASSERT_LE(d.calls.size(), 3u);
            if (!lazy) {
                EXPECT_EQ(d.content, "") << text;
            }
            for (const auto& c : d.calls) {
                ++n_calls;
                if (!outputs.count(c.name)) outputs[c.name] = ojson::array();
                outputs[c.name].push_back(c.arguments);
            }
        }
    }
    std::printf("tool-call walks: %d of %d finished (%d lazy without a call), %d calls\n", n_finished, n_walks,
                n_free, n_calls);
    EXPECT_GE(n_finished, n_walks * 3 / 4);
    EXPECT_GE(n_calls, 25);

    test::check_tool_outputs(kTools, outputs, n_calls);
}

}  // namespace
}  // namespace hotrod::sample
