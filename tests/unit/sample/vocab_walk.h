// What the random-walk tests over a real vocabulary share (test_grammar_vocab.cpp, test_tool_call_walks.cpp,
// test_tool_call_xml_walks.cpp): the vocabulary as the engine hands it to the grammar, the mask bit test, the
// tool list as ToolSpecs, and running the Python reference (check_with_jsonschema.py).
#pragma once

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "sample/grammar.h"
#include "text/tokenizer.h"

namespace hotrod::sample::test {

struct WalkVocab {
    std::unique_ptr<text::Tokenizer> tok;
    std::vector<std::string> pieces;  // as the engine builds them: control tokens have none, so no mask allows them
    std::vector<int32_t> eog;
    std::shared_ptr<const TokenIndex> index;
};

// The vocabulary of a GGUF file, built once per path for the whole binary (a tokenizer takes ~1 s); null when the
// file is missing.
inline const WalkVocab* walk_vocab(const std::filesystem::path& path) {
    static std::map<std::string, std::unique_ptr<WalkVocab>> loaded;
    auto [it, fresh] = loaded.try_emplace(path.string());
    if (fresh && std::filesystem::exists(path)) {
        auto v = std::make_unique<WalkVocab>();
        v->tok = std::make_unique<text::Tokenizer>(text::Tokenizer::from_gguf(path.string()));
        for (size_t id = 0; id < v->tok->n_tokens(); ++id) {
            const auto tid = static_cast<text::TokenId>(id);
            v->pieces.push_back(v->tok->is_control(tid) ? std::string() : std::string(v->tok->piece(tid)));
            if (v->tok->is_eog(tid)) v->eog.push_back(tid);
        }
        v->index = std::make_shared<TokenIndex>(v->pieces, v->eog);
        it->second = std::move(v);
    }
    return it->second.get();
}

// A vocabulary from ../shared/vocab/.
inline const WalkVocab* shared_vocab(const char* file) {
    return walk_vocab(std::filesystem::path(HOTROD_SOURCE_DIR) / ".." / "shared" / "vocab" / file);
}

inline bool allowed(const std::vector<uint64_t>& mask, int32_t id) {
    return (mask[static_cast<size_t>(id) / 64] >> (id % 64)) & 1;
}

// The mask token by token: a fresh matcher fed `prefix`, then each id alone (the slow reference the walked and
// cached masks are compared with).
inline std::vector<uint64_t> brute_force_mask(const WalkVocab& v, const std::shared_ptr<const Grammar>& g,
                                              const std::string& prefix) {
    std::vector<uint64_t> mask((v.pieces.size() + 63) / 64, 0);
    for (int32_t id = 0; id < static_cast<int32_t>(v.pieces.size()); ++id) {
        Matcher m(g, v.index);
        if (!m.accept_bytes(prefix)) ADD_FAILURE() << "prefix no longer accepted";
        if (m.accept(id)) mask[static_cast<size_t>(id) / 64] |= uint64_t{1} << (id % 64);
    }
    return mask;
}

// An OpenAI tools list as the grammar's ToolSpecs, every one strict.
inline std::vector<ToolSpec> strict_specs(const nlohmann::ordered_json& tools) {
    std::vector<ToolSpec> out;
    for (size_t i = 0; i < tools.size(); ++i) {
        const nlohmann::ordered_json& f = tools[i]["function"];
        out.push_back({f["name"], f.value("parameters", nlohmann::ordered_json()), true,
                       "tools[" + std::to_string(i) + "]"});
    }
    return out;
}

// Runs cmd, returns its standard output; status: pclose's.
inline std::string run_command(const std::string& cmd, int& status) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) {
        status = -1;
        return out;
    }
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    status = pclose(p);
    return out;
}

// Validates every call's arguments seen in a walk (outputs: tool name -> array of arguments) against its tool's
// schema with Python's jsonschema (check_with_jsonschema.py, run by $HOTROD_PYTHON; the test is skipped, saying
// so, without it). n_calls: how many the script must report checked.
inline void check_tool_outputs(const nlohmann::ordered_json& tools,
                               const std::map<std::string, nlohmann::ordered_json>& outputs, int n_calls) {
    const char* python = std::getenv("HOTROD_PYTHON");
    if (!python || !*python) GTEST_SKIP() << "HOTROD_PYTHON not set: arguments not validated";
    nlohmann::json cases = nlohmann::json::array();
    for (const auto& t : tools) {
        const nlohmann::ordered_json& f = t["function"];
        const std::string name = f["name"];
        const auto seen = outputs.find(name);
        if (seen == outputs.end()) continue;
        cases.push_back({{"schema", nlohmann::json(f.value("parameters", nlohmann::ordered_json{{"type", "object"}}))},
                         {"outputs", nlohmann::json(seen->second)}});
    }
    const auto path =
        std::filesystem::temp_directory_path() / ("hotrod_tool_walks_" + std::to_string(::getpid()) + ".json");
    std::ofstream(path) << cases.dump();
    const std::string script = std::string(HOTROD_SOURCE_DIR) + "/tests/unit/sample/check_with_jsonschema.py";
    int status = 0;
    const std::string out = run_command(std::string(python) + " '" + script + "' '" + path.string() + "'", status);
    std::filesystem::remove(path);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 2) GTEST_SKIP() << "jsonschema not installed";
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("checked " + std::to_string(n_calls)), std::string::npos) << out;
}

}  // namespace hotrod::sample::test
