// Encode throughput (MB/s) of our tokenizers on a 1 MB mixed text (code, prose, CJK, emoji, whitespace, numbers,
// special tokens: the test corpus, shuffled with a fixed seed) for SmolLM2's, Gemma 3's and Qwen3.5's vocabularies.
// Before timing, each vocabulary's output is checked to decode back to the text. Set HOTROD_BENCH_TEXT_OUT=FILE to
// also write the text, so bench/tokenizer_vs_llama.sh can time llama.cpp's tokenizer on the same bytes.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "text/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using hotrod::text::Tokenizer;

const fs::path kRepo = fs::path(__FILE__).parent_path().parent_path();
constexpr size_t kTextBytes = 1 << 20;

std::string models_dir() {
    if (const char* m = std::getenv("HOTROD_MODELS")) return m;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + "/.cache/hotrod/models";
}

const std::string& bench_text() {
    static const std::string text = [] {
        std::ifstream f(kRepo / "tests/fixtures/tokenizer/corpus.json");
        const auto cases = nlohmann::json::parse(f).at("cases").get<std::vector<std::string>>();
        std::mt19937 rng(7);
        std::string t;
        while (t.size() < kTextBytes) {
            t += cases[rng() % cases.size()];
            t += rng() % 3 == 0 ? "\n" : " ";
        }
        // Cut at a character boundary so the text stays valid UTF-8.
        size_t n = kTextBytes;
        while (n > 0 && (static_cast<unsigned char>(t[n]) & 0xC0) == 0x80) --n;
        t.resize(n);
        if (const char* out = std::getenv("HOTROD_BENCH_TEXT_OUT")) std::ofstream(out, std::ios::binary) << t;
        return t;
    }();
    return text;
}

struct Vocab {
    const char* name;
    std::string path;
};

std::vector<Vocab> vocabs() {
    return {{"smollm2", models_dir() + "/SmolLM2-135M-Instruct.Q4_1.gguf"},
            {"gemma3", models_dir() + "/gemma-3-270m-q4_k_m.gguf"},
            {"qwen35", (kRepo.parent_path() / "shared/vocab/ggml-vocab-qwen35.gguf").string()}};
}

void bm_encode(benchmark::State& state, const Tokenizer* tok, bool parse_special) {
    const std::string& text = bench_text();
    size_t n_tokens = 0;
    for (auto _ : state) {
        const auto ids = tok->encode(text, false, parse_special);
        n_tokens = ids.size();
        benchmark::DoNotOptimize(ids.data());
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
    state.counters["tokens"] = double(n_tokens);
    state.counters["MB/s"] = benchmark::Counter(double(text.size()) / 1e6 * double(state.iterations()),
                                                benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    const std::string& text = bench_text();
    std::vector<std::unique_ptr<Tokenizer>> keep;
    for (const auto& v : vocabs()) {
        if (!fs::exists(v.path)) {
            std::fprintf(stderr, "skip %s: %s not found\n", v.name, v.path.c_str());
            continue;
        }
        auto tok = std::make_unique<Tokenizer>(Tokenizer::from_gguf(v.path));
        // Check before measuring: the ids must decode back to the text (special pieces shown as written).
        if (tok->decode(tok->encode(text, false, true), true) != text ||
            tok->decode(tok->encode(text, false, false), true) != text) {
            std::fprintf(stderr, "%s: decode(encode(text)) != text; not measuring\n", v.name);
            return 1;
        }
        for (const bool special : {true, false})
            benchmark::RegisterBenchmark((std::string("encode/") + v.name + (special ? "/special" : "/plain")).c_str(),
                                         bm_encode, tok.get(), special)
                ->Unit(benchmark::kMillisecond);
        keep.push_back(std::move(tok));
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
