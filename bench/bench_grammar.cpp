// Grammar costs: compile time of the benchmark's schema (phase enum + short scope string, built from
// ../shared/workloads/phase_classification.json) and of an object with 12 optional properties of mixed types;
// mask fill time per step over SmolLM2's (49152) and Gemma 3's (262144) vocabularies at the start of an object,
// inside a string and inside a number, both the first time a state is seen (full trie walk) and repeated (the
// per-state cache). The floor beside them is a copy of the mask's bytes. Each mask is checked against a
// brute-force accept() of a sample of tokens before it is timed.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "sample/grammar.h"
#include "sample/grammar_token_index.h"
#include "text/tokenizer.h"

namespace {

using namespace hotrod;
using ojson = nlohmann::ordered_json;

ojson phase_schema() {
    std::vector<std::string> phases = {"planning",  "implementing", "testing",     "debugging",
                                       "reviewing", "deploying",    "researching", "idle"};
    const auto workload = std::filesystem::path(__FILE__).parent_path() / "../../shared/workloads/phase_classification.json";
    if (std::ifstream in(workload); in) phases = nlohmann::json::parse(in)["phases"].get<std::vector<std::string>>();
    ojson s = ojson::parse(R"({"type":"object","properties":{"phase":{},"scope":{"type":"string","minLength":1,"maxLength":96}},
        "required":["phase","scope"],"additionalProperties":false})");
    s["properties"]["phase"]["enum"] = phases;
    return s;
}

ojson twelve_optional() {
    ojson s = {{"type", "object"}, {"properties", ojson::object()}};
    const char* types[] = {"string", "integer", "number", "boolean"};
    for (int i = 0; i < 12; ++i) s["properties"]["field_" + std::to_string(i)] = {{"type", types[i % 4]}};
    return s;
}

void BM_CompilePhaseSchema(benchmark::State& state) {
    const ojson s = phase_schema();
    for (auto _ : state) benchmark::DoNotOptimize(sample::compile_json_schema(s));
}
BENCHMARK(BM_CompilePhaseSchema)->Unit(benchmark::kMicrosecond)->Repetitions(20)->ReportAggregatesOnly(true);

void BM_CompileTwelveOptional(benchmark::State& state) {
    const ojson s = twelve_optional();
    for (auto _ : state) benchmark::DoNotOptimize(sample::compile_json_schema(s));
}
BENCHMARK(BM_CompileTwelveOptional)->Unit(benchmark::kMicrosecond)->Repetitions(20)->ReportAggregatesOnly(true);

struct Vocab {
    std::vector<std::string> pieces;
    std::shared_ptr<const sample::TokenIndex> index;
    double build_ms = 0;
};

const Vocab* vocab(const std::string& file) {
    static std::map<std::string, std::unique_ptr<Vocab>> loaded;
    auto& v = loaded[file];
    if (v) return v.get();
    const char* home = std::getenv("HOME");
    const std::string path = std::string(home ? home : "") + "/.cache/hotrod/models/" + file;
    if (!std::filesystem::exists(path)) return nullptr;
    auto tok = text::Tokenizer::from_gguf(path);
    v = std::make_unique<Vocab>();
    std::vector<int32_t> eog;
    for (size_t id = 0; id < tok.n_tokens(); ++id) {
        const auto tid = static_cast<text::TokenId>(id);
        v->pieces.push_back(tok.is_control(tid) ? std::string() : std::string(tok.piece(tid)));
        if (tok.is_eog(tid)) eog.push_back(tid);
    }
    const auto t0 = std::chrono::steady_clock::now();
    v->index = std::make_shared<sample::TokenIndex>(v->pieces, eog);
    v->build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return v.get();
}

struct MaskCase {
    const char* vocab_file;
    bool schema;         // the phase schema, else json_object
    const char* prefix;  // output so far
};

const MaskCase kCases[] = {
    {"SmolLM2-135M-Instruct.Q4_1.gguf", false, "{"},                             // 0 object start (json_object)
    {"SmolLM2-135M-Instruct.Q4_1.gguf", true, ""},                               // 1 object start (schema)
    {"SmolLM2-135M-Instruct.Q4_1.gguf", true, "{\"phase\":\"testing\",\"scope\":\"run"},  // 2 in a string
    {"SmolLM2-135M-Instruct.Q4_1.gguf", false, "{\"n\": 12"},                    // 3 in a number
    {"gemma-3-270m-q4_k_m.gguf", false, "{"},
    {"gemma-3-270m-q4_k_m.gguf", true, ""},
    {"gemma-3-270m-q4_k_m.gguf", true, "{\"phase\":\"testing\",\"scope\":\"run"},
    {"gemma-3-270m-q4_k_m.gguf", false, "{\"n\": 12"},
};

// cached = 0: a fresh Matcher per step (first visit of the state); 1: the same state again (cache); 2: the next
// position after one more byte (inside a bounded string: a new count, same mask).
void BM_FillMask(benchmark::State& state) {
    const MaskCase& c = kCases[state.range(0)];
    const int64_t mode = state.range(1);
    const Vocab* v = vocab(c.vocab_file);
    if (!v) {
        state.SkipWithError("model missing");
        return;
    }
    static const auto schema_grammar = sample::compile_json_schema(phase_schema());
    const auto grammar = c.schema ? schema_grammar : sample::compile_json_object();
    std::vector<uint64_t> mask((v->pieces.size() + 63) / 64);
    {
        sample::Matcher m(grammar, v->index);
        if (!m.accept_bytes(c.prefix)) {
            state.SkipWithError("prefix refused");
            return;
        }
        m.fill_mask(mask);
        std::mt19937 rng(3);
        for (int k = 0; k < 500; ++k) {  // mask bit == accept() of the token from the same state
            const auto id = static_cast<int32_t>(rng() % v->pieces.size());
            sample::Matcher r(grammar, v->index);
            r.accept_bytes(c.prefix);
            if (r.accept(id) != (((mask[size_t(id) / 64] >> (id % 64)) & 1) != 0)) {
                state.SkipWithError("mask disagrees with accept()");
                return;
            }
        }
    }
    sample::Matcher warm(grammar, v->index);
    warm.accept_bytes(c.prefix);
    warm.fill_mask(mask);
    for (auto _ : state) {
        if (mode == 1) {
            warm.fill_mask(mask);
        } else if (mode == 2) {
            state.PauseTiming();
            sample::Matcher m(grammar, v->index);
            m.accept_bytes(c.prefix);
            m.fill_mask(mask);
            const bool ok = m.accept_bytes("1");
            state.ResumeTiming();
            if (ok) m.fill_mask(mask);
        } else {
            state.PauseTiming();
            sample::Matcher m(grammar, v->index);
            m.accept_bytes(c.prefix);
            state.ResumeTiming();
            m.fill_mask(mask);
        }
        benchmark::DoNotOptimize(mask.data());
    }
    size_t n_allowed = 0;
    for (uint64_t w : mask) n_allowed += static_cast<size_t>(__builtin_popcountll(w));
    state.counters["allowed"] = static_cast<double>(n_allowed);
    state.counters["index_build_ms"] = v->build_ms;
    state.counters["trie_nodes"] = static_cast<double>(v->index->impl().trie.size());
    state.counters["longest_piece"] = static_cast<double>(v->index->impl().max_depth);
    state.SetLabel(std::string(c.vocab_file).substr(0, 6) + (c.schema ? " schema " : " json_object ") + "after '" +
                   c.prefix + "'");
}
// Modes 0 and 2 set up each step outside the timer (a full walk for mode 2), so their iterations are fixed.
BENCHMARK(BM_FillMask)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5, 6, 7}, {0}})
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(40)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);
BENCHMARK(BM_FillMask)
    ->ArgsProduct({{2, 3, 6, 7}, {2}})  // one more digit / one more string byte
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(40)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);
BENCHMARK(BM_FillMask)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5, 6, 7}, {1}})
    ->Unit(benchmark::kMicrosecond)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);

// The floor: copying a mask of each vocabulary's size.
void BM_MaskCopy(benchmark::State& state) {
    std::vector<uint64_t> src((static_cast<size_t>(state.range(0)) + 63) / 64, 0x5555), dst(src.size());
    for (auto _ : state) {
        std::memcpy(dst.data(), src.data(), src.size() * sizeof(uint64_t));
        benchmark::DoNotOptimize(dst.data());
    }
}
BENCHMARK(BM_MaskCopy)->Arg(49152)->Arg(262144)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
