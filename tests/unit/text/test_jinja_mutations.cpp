// Robustness: the 62 real templates cut short and with random bytes deleted, duplicated or replaced must
// parse or fail with a jinja::Error, never crash or read out of bounds (this test matters most in the
// ASan/UBSan build). Seeded, so a failure reproduces.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "text/chat_template.h"
#include "text/jinja_value.h"

namespace {

namespace fs = std::filesystem;

TEST(JinjaMutations, RealTemplatesMutatedNeverCrash) {
    const fs::path dir = fs::path(HOTROD_SOURCE_DIR) / ".." / "shared" / "templates";
    if (!fs::exists(dir)) GTEST_SKIP() << "no " << dir;
    hotrod::text::ChatInputs in;
    in.messages = nlohmann::ordered_json::parse(
        R"([{"role":"system","content":"S"},{"role":"user","content":"U"},{"role":"assistant","content":"A",
            "tool_calls":[{"id":"call12345","type":"function","function":{"name":"f","arguments":{"x":1}}}]},
            {"role":"tool","content":"r"},{"role":"user","content":[{"type":"text","text":"T"}]}])");
    std::mt19937 rng(7);
    int n_ok = 0, n_err = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        std::ifstream f(entry.path(), std::ios::binary);
        std::stringstream ss;
        ss << f.rdbuf();
        const std::string src = ss.str();
        if (src.empty()) continue;
        for (int trial = 0; trial < 12; ++trial) {
            std::string m = src;
            std::uniform_int_distribution<size_t> pos(0, m.size() - 1);
            switch (trial % 4) {
                case 0: m.resize(pos(rng)); break;
                case 1: for (int k = 0; k < 5 && !m.empty(); ++k) m.erase(pos(rng) % m.size(), 1 + rng() % 8); break;
                case 2: for (int k = 0; k < 5; ++k) { size_t p = pos(rng) % m.size(); m.insert(p, m.substr(p, 1 + rng() % 16)); } break;
                default: for (int k = 0; k < 8; ++k) m[pos(rng) % m.size()] = "{}%#-+()[]'\"|.\n x"[rng() % 17]; break;
            }
            try {
                hotrod::text::ChatTemplate(m, entry.path().filename().string()).render(in);
                ++n_ok;
            } catch (const hotrod::text::jinja::Error&) {
                ++n_err;
            }
        }
    }
    std::printf("mutated templates: %d rendered, %d rejected with an error\n", n_ok, n_err);
    EXPECT_GT(n_ok + n_err, 0);
}

}  // namespace
