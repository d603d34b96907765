// Shared by the engine tests: the default model loaded once per test binary, and collecting a Stream's events
// into one result.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cpu/cpu_backend.h"
#include "engine/engine.h"
#include "model/model.h"
#include "text/tokenizer.h"

namespace hotrod::engine::test {

inline std::string model_path() {
    const char* d = std::getenv("HOTROD_MODELS");
    const char* home = std::getenv("HOME");
    return (d && *d ? std::string(d) : std::string(home ? home : "") + "/.cache/hotrod/models") +
           "/SmolLM2-135M-Instruct.Q4_1.gguf";
}

struct Loaded {
    cpu::CpuBackend be{2};
    std::unique_ptr<model::Model> model;
    std::unique_ptr<text::Tokenizer> tok;
};

// The default model, or null when its file is missing.
inline Loaded* loaded() {
    static std::unique_ptr<Loaded> l = [] {
        std::unique_ptr<Loaded> r;
        if (!std::filesystem::exists(model_path())) return r;
        r = std::make_unique<Loaded>();
        r->model = model::Model::load(model_path(), r->be);
        r->tok = std::make_unique<text::Tokenizer>(text::Tokenizer::from_gguf(model_path()));
        return r;
    }();
    return l.get();
}

#define LOADED_OR_SKIP(var)                                                                      \
    auto* var = ::hotrod::engine::test::loaded();                                                \
    if (!var) {                                                                                  \
        const char* r = std::getenv("HOTROD_REQUIRE_MODELS");                                    \
        if (r && std::string(r) == "1") FAIL() << "missing model " << test::model_path();        \
        GTEST_SKIP() << "missing model " << test::model_path();                                  \
    }

struct Result {
    std::string text;
    FinishReason finish = FinishReason::none;
    std::string error;
    Usage usage;
    std::vector<int32_t> ids;
    int n_events = 0;
    int n_forced = 0;  // tokens appended by jump-forward
};

// Every event of a request until its final one (or a 120 s silence, reported as error "timeout").
inline Result collect(Stream& s) {
    Result r;
    std::vector<Event> evs;
    while (r.finish == FinishReason::none) {
        evs.clear();
        if (!s.wait(evs, std::chrono::seconds(120))) {
            r.error = "timeout";
            break;
        }
        for (auto& e : evs) {
            ++r.n_events;
            r.text += e.text;
            for (const auto& t : e.tokens) {
                r.ids.push_back(t.id);
                r.n_forced += t.forced;
            }
            if (e.finish != FinishReason::none) {
                r.finish = e.finish;
                r.error = e.error;
                r.usage = e.usage;
            }
        }
    }
    return r;
}

}  // namespace hotrod::engine::test
