// Helpers shared by the model tests: where the real models are (skip or fail when missing), a temp dir, a
// small in-memory qwen3 GGUF for loader tests, a one-sequence runner and the synthetic model of the fixture.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cpu/cpu_backend.h"
#include "model/model.h"

namespace hotrod::model::test {

inline std::string models_dir() {
    if (const char* d = std::getenv("HOTROD_MODELS")) return d;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + "/.cache/hotrod/models";
}

inline bool require_models() {
    const char* r = std::getenv("HOTROD_REQUIRE_MODELS");
    return r && std::string(r) == "1";
}

// The path of a real model, or "" after GTEST_SKIP (or a failure when HOTROD_REQUIRE_MODELS=1).
#define HOTROD_MODEL_OR_SKIP(var, file)                                                       \
    const std::string var = hotrod::model::test::models_dir() + "/" + (file);                 \
    if (!std::filesystem::exists(var)) {                                                      \
        if (hotrod::model::test::require_models()) FAIL() << "missing model " << var;         \
        GTEST_SKIP() << "missing model " << var;                                              \
    }

inline std::filesystem::path temp_dir() {
    auto d = std::filesystem::temp_directory_path() / ("hotrod_model_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
}

inline std::string shared_vocab(const std::string& name) {
    return std::string(HOTROD_SOURCE_DIR) + "/../shared/vocab/" + name;
}

// Runs tokens through one fresh sequence in chunks of `chunk`, returning every position's logits row.
inline std::vector<std::vector<float>> run_all_logits(Model& m, KvCache& kv, const std::vector<int32_t>& tokens,
                                                      int chunk) {
    const int32_t seq = kv.add_sequence();
    std::vector<std::vector<float>> rows;
    Batch b;
    for (size_t first = 0; first < tokens.size(); first += size_t(chunk)) {
        const size_t last = std::min(tokens.size(), first + size_t(chunk));
        b.clear();
        const int s = b.add_sequence(seq);
        for (size_t i = first; i < last; ++i) b.add(s, tokens[i], int32_t(i), true);
        const int n = m.forward(b, kv);
        for (int i = 0; i < n; ++i) rows.emplace_back(m.logits(i).begin(), m.logits(i).end());
    }
    kv.remove_sequence(seq);
    return rows;
}

// Greedy decoding of n_new tokens after `tokens` in one fresh sequence (the prompt in one step, then a token a step):
// the new tokens.
inline std::vector<int32_t> greedy(Model& m, KvCache& kv, std::vector<int32_t> tokens, int n_new) {
    const int32_t seq = kv.add_sequence();
    Batch b;
    std::vector<int32_t> out;
    size_t fed = 0;
    for (int k = 0; k < n_new; ++k) {
        b.clear();
        const int s = b.add_sequence(seq);
        for (size_t i = fed; i < tokens.size(); ++i) b.add(s, tokens[i], int32_t(i), i + 1 == tokens.size());
        fed = tokens.size();
        m.forward(b, kv);
        const auto row = m.logits(0);
        const int32_t next = int32_t(std::max_element(row.begin(), row.end()) - row.begin());
        out.push_back(next);
        tokens.push_back(next);
    }
    kv.remove_sequence(seq);
    return out;
}

}  // namespace hotrod::model::test
