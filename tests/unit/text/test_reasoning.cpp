// Tests of the reasoning splitter: fixed cases, then the streaming property (any split of the text into
// pieces gives the same reasoning and content as the one-shot split), then the server-side helpers on
// real templates (enable_thinking support; the prompt already opening <think>).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "text/chat_template.h"
#include "text/reasoning.h"

namespace {

using hotrod::text::ReasoningSplitter;
using hotrod::text::split_reasoning;

struct Case {
    const char* text;
    bool start_in_reasoning;
    const char* reasoning;
    const char* content;
};

const Case kCases[] = {
    {"<think>\nLet me add.\n</think>\n\nIt is 4.", false, "Let me add.", "It is 4."},
    {"  <think>a</think>b", false, "a", "b"},
    {"No thinking here.", false, "", "No thinking here."},
    {"  leading space kept", false, "", "  leading space kept"},
    {"Answer with <think> inside", false, "", "Answer with <think> inside"},
    {"<think>\n\n</think>\n\nDirect.", false, "", "Direct."},
    {"step 1\nstep 2\n</think>\n\nDone.", true, "step 1\nstep 2", "Done."},
    {"\nstill thinking when cut off", true, "still thinking when cut off", ""},
    {"<think>unterminated reasoning </thi", false, "unterminated reasoning </thi", ""},
    {"<think>a < b and </th not a tag</think>c </think> d", false, "a < b and </th not a tag", "c </think> d"},
    {"<thin", false, "", "<thin"},
    {"", false, "", ""},
    {"", true, "", ""},
    {"<think>x</think>", false, "x", ""},
};

TEST(Reasoning, FixedCases) {
    for (const auto& c : kCases) {
        auto r = split_reasoning(c.text, c.start_in_reasoning);
        EXPECT_EQ(r.reasoning, c.reasoning) << c.text;
        EXPECT_EQ(r.content, c.content) << c.text;
    }
}

TEST(Reasoning, StreamingEqualsOneShotForEverySplit) {
    std::mt19937 rng(1234);
    for (const auto& c : kCases) {
        const std::string text = c.text;
        auto whole = split_reasoning(text, c.start_in_reasoning);
        // Every single cut point, then random multi-piece splits (incl. 1-byte pieces).
        for (size_t cut = 0; cut <= text.size(); ++cut) {
            ReasoningSplitter s(c.start_in_reasoning);
            auto a = s.push(text.substr(0, cut));
            auto b = s.push(text.substr(cut));
            auto f = s.flush();
            EXPECT_EQ(a.reasoning + b.reasoning + f.reasoning, whole.reasoning) << text << " cut " << cut;
            EXPECT_EQ(a.content + b.content + f.content, whole.content) << text << " cut " << cut;
        }
        for (int trial = 0; trial < 50; ++trial) {
            ReasoningSplitter s(c.start_in_reasoning);
            std::string reasoning, content;
            size_t pos = 0;
            while (pos < text.size()) {
                size_t n = std::uniform_int_distribution<size_t>(1, 4)(rng);
                auto d = s.push(text.substr(pos, n));
                reasoning += d.reasoning;
                content += d.content;
                pos += n;
            }
            auto f = s.flush();
            EXPECT_EQ(reasoning + f.reasoning, whole.reasoning) << text;
            EXPECT_EQ(content + f.content, whole.content) << text;
        }
    }
}

TEST(Reasoning, HoldsBackPartialTagsOnly) {
    ReasoningSplitter s(true);
    EXPECT_EQ(s.push("thinking").reasoning, "thinking");
    auto d = s.push(" more </thi");
    EXPECT_EQ(d.reasoning, " more");  // " </thi" may be whitespace before the close tag: held
    d = s.push("nk>\n\nAnswer");
    EXPECT_EQ(d.reasoning, "");
    EXPECT_EQ(d.content, "Answer");
    EXPECT_FALSE(s.in_reasoning());
}

std::string read_template(const char* name) {
    std::ifstream f(std::filesystem::path(HOTROD_SOURCE_DIR) / ".." / "shared" / "templates" / name);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

TEST(Reasoning, ThinkingSwitchOnRealTemplates) {
    const std::string qwen3 = read_template("Qwen-Qwen3-0.6B.jinja");
    const std::string llama = read_template("meta-llama-Llama-3.1-8B-Instruct.jinja");
    if (qwen3.empty() || llama.empty()) GTEST_SKIP() << "../shared/templates not present";
    EXPECT_TRUE(hotrod::text::template_supports_enable_thinking(qwen3));
    EXPECT_FALSE(hotrod::text::template_supports_enable_thinking(llama));

    hotrod::text::ChatInputs in;
    in.messages = nlohmann::ordered_json::parse(R"([{"role":"user","content":"Hi"}])");
    in.extra = {{"enable_thinking", false}};
    const std::string off = hotrod::text::render_chat_template(qwen3, in);
    EXPECT_NE(off.find("<think>\n\n</think>"), std::string::npos) << off;  // thinking rendered closed
    EXPECT_FALSE(hotrod::text::prompt_opens_reasoning(off));

    const std::string qwen35 = read_template("Qwen3.5-4B.jinja");
    in.extra = {{"enable_thinking", true}};
    const std::string on = hotrod::text::render_chat_template(qwen35, in);
    EXPECT_TRUE(hotrod::text::prompt_opens_reasoning(on)) << on;  // Qwen3.5 opens <think> in the prompt
}

}  // namespace
