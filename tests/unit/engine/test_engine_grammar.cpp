// Engine with grammars on the real default model: json_object output parses (nlohmann's parser as the
// reference), json_schema output has the required keys and enum values, the forced scaffolding is appended by
// jump-forward (and costs no extra steps), and turning jump-forward off gives valid output too.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "engine_test_util.h"
#include "model/model.h"
#include "sample/grammar.h"
#include "text/tokenizer.h"

namespace hotrod::engine {
namespace {

using test::collect;
using test::Result;

Request chat(const text::Tokenizer& tok, const std::string& user, int max_tokens) {
    Request r;
    r.prompt = tok.encode("<|im_start|>system\nAnswer in JSON.<|im_end|>\n<|im_start|>user\n" + user +
                              "<|im_end|>\n<|im_start|>assistant\n",
                          true, true);
    r.sampling.temperature = 0.0f;
    r.max_tokens = max_tokens;
    return r;
}

const char* kSchema = R"({
  "type": "object",
  "properties": {
    "phase": {"type": "string", "enum": ["planning", "building", "testing", "released"]},
    "scope": {"type": "string", "maxLength": 40},
    "confidence": {"type": "number"}
  },
  "required": ["phase", "scope"],
  "additionalProperties": false
})";

TEST(EngineGrammar, JsonSchemaOutputValidatesAndScaffoldingIsForced) {
    LOADED_OR_SKIP(l);
    sample::GrammarCache cache;
    const auto schema = nlohmann::ordered_json::parse(kSchema);
    for (const bool jump : {true, false}) {
        EngineOptions o;
        o.jump_forward = jump;
        Engine e(*l->model, *l->tok, 2048, o);
        for (const char* user : {"We are writing unit tests for the parser.", "Version 2.0 shipped today.",
                                 "We sketched the architecture on a whiteboard."}) {
            Request r = chat(*l->tok, std::string("Classify: ") + user, 60);
            r.grammar = cache.json_schema(schema);
            const Result res = collect(*e.submit(r));
            ASSERT_EQ(res.finish, FinishReason::stop) << res.error << " text: " << res.text;
            const auto j = nlohmann::json::parse(res.text);  // throws (fails the test) when not JSON
            ASSERT_TRUE(j.is_object()) << res.text;
            ASSERT_TRUE(j.contains("phase") && j.contains("scope")) << res.text;
            const std::string phase = j["phase"];
            EXPECT_TRUE(phase == "planning" || phase == "building" || phase == "testing" || phase == "released");
            EXPECT_LE(j["scope"].get<std::string>().size(), 40u);
            for (const auto& [k, v] : j.items()) EXPECT_TRUE(k == "phase" || k == "scope" || k == "confidence") << k;
            if (jump) {
                EXPECT_GT(res.n_forced, 0) << res.text;
            } else {
                EXPECT_EQ(res.n_forced, 0);
            }
        }
        if (jump) {
            EXPECT_GT(e.stats().forced_tokens, 0u);
        }
    }
}

TEST(EngineGrammar, JsonObjectOutputParses) {
    LOADED_OR_SKIP(l);
    sample::GrammarCache cache;
    Engine e(*l->model, *l->tok, 2048, EngineOptions{});
    for (const char* user : {"Describe a cat.", "Give me a person with a name and an age.", "List two colors."}) {
        Request r = chat(*l->tok, user, 80);
        r.grammar = cache.json_object();
        const Result res = collect(*e.submit(r));
        if (res.finish == FinishReason::length) continue;  // cut by max_tokens: not required to be complete
        ASSERT_EQ(res.finish, FinishReason::stop) << res.error;
        const auto j = nlohmann::json::parse(res.text);
        EXPECT_TRUE(j.is_object()) << res.text;
    }
}

}  // namespace
}  // namespace hotrod::engine
