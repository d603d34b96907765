// chat_template: the built-in Gemma format against Google's published Gemma 2 template (same turns when
// there is no system message) and against the Gemma 3 rule for a system message; template selection
// from GGUF metadata, including the real models when present (HOTROD_MODELS).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gguf/reader.h"
#include "text/chat_template.h"

namespace {

using hotrod::text::ChatInputs;
using hotrod::text::render_chat_template;
using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

ChatInputs inputs(const char* messages, bool gen = true) {
    ChatInputs in;
    in.messages = json::parse(messages);
    in.add_generation_prompt = gen;
    in.bos_token = "<bos>";
    in.eos_token = "<eos>";
    return in;
}

std::string read_text(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

TEST(ChatTemplate, GemmaBuiltinMatchesPublishedTurns) {
    const std::string gemma = std::string(hotrod::text::builtin_template_gemma());
    const char* conv = R"([{"role":"user","content":" Hi "},{"role":"assistant","content":"Hello!"},{"role":"user","content":"Bye"}])";
    EXPECT_EQ(render_chat_template(gemma, inputs(conv)),
              "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
              "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
    const fs::path published = fs::path(HOTROD_SOURCE_DIR) / ".." / "shared" / "templates" / "google-gemma-2-2b-it.jinja";
    if (fs::exists(published)) {
        for (bool gen : {true, false})
            EXPECT_EQ(render_chat_template(gemma, inputs(conv, gen)), render_chat_template(read_text(published), inputs(conv, gen)));
    }
    // Gemma 3: the system message is folded into the first user turn, followed by a blank line.
    const char* sys = R"([{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi"}]}])";
    EXPECT_EQ(render_chat_template(gemma, inputs(sys)),
              "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");
}

TEST(ChatTemplate, ChatmlFallback) {
    const char* conv = R"([{"role":"system","content":"S"},{"role":"user","content":"U"}])";
    EXPECT_EQ(render_chat_template(hotrod::text::builtin_template_chatml(), inputs(conv)),
              "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, ChoosesByMetadata) {
    auto from = [](std::map<std::string, std::string> kv) {
        return [kv](std::string_view key) -> std::optional<std::string> {
            auto it = kv.find(std::string(key));
            return it == kv.end() ? std::nullopt : std::optional<std::string>(it->second);
        };
    };
    auto c = hotrod::text::choose_chat_template(from({{"tokenizer.chat_template", "X"}, {"general.architecture", "gemma3"}}));
    EXPECT_EQ(c.source, "X");
    EXPECT_EQ(c.origin, "gguf:tokenizer.chat_template");
    c = hotrod::text::choose_chat_template(from({{"tokenizer.chat_template.tool_use", "T"}}), "tool_use");
    EXPECT_EQ(c.source, "T");
    EXPECT_THROW(hotrod::text::choose_chat_template(from({}), "rag"), std::invalid_argument);
    c = hotrod::text::choose_chat_template(from({{"general.architecture", "gemma3"}}));
    EXPECT_EQ(c.origin, "builtin:gemma");
    EXPECT_TRUE(c.warning.empty());
    c = hotrod::text::choose_chat_template(from({{"general.architecture", "mystery"}}));
    EXPECT_EQ(c.origin, "builtin:chatml");
    EXPECT_NE(c.warning.find("mystery"), std::string::npos);
}

fs::path model_path(const char* file) {
    const char* env = std::getenv("HOTROD_MODELS");
    const char* home = std::getenv("HOME");
    fs::path dir = env ? fs::path(env) : fs::path(home ? home : "/") / ".cache" / "hotrod" / "models";
    return dir / file;
}

bool require_models() {
    const char* r = std::getenv("HOTROD_REQUIRE_MODELS");
    return r && std::string(r) == "1";
}

TEST(ChatTemplate, RealModels) {
    const fs::path smol = model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    const fs::path gemma = model_path("gemma-3-270m-q4_k_m.gguf");
    if (!fs::exists(smol) || !fs::exists(gemma)) {
        if (require_models()) FAIL() << "models missing: " << smol << ", " << gemma;
        GTEST_SKIP() << "models not present";
    }
    auto lookup_in = [](const hotrod::gguf::File& f) {
        return [&f](std::string_view key) -> std::optional<std::string> {
            auto v = f.find<std::string_view>(key);
            return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
        };
    };
    const char* conv = R"([{"role":"user","content":"Hi"}])";
    {
        auto f = hotrod::gguf::File::open(smol.string());
        auto c = hotrod::text::choose_chat_template(lookup_in(f));
        EXPECT_EQ(c.origin, "gguf:tokenizer.chat_template");
        std::string out = render_chat_template(c.source, inputs(conv));
        EXPECT_NE(out.find("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"), std::string::npos) << out;
    }
    {
        auto f = hotrod::gguf::File::open(gemma.string());
        auto c = hotrod::text::choose_chat_template(lookup_in(f));
        EXPECT_EQ(c.origin, "builtin:gemma");
        EXPECT_EQ(render_chat_template(c.source, inputs(conv)), "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
    }
}

}  // namespace
