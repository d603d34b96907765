// Microseconds per sample() at the two vocabulary sizes of the real models (SmolLM2 49152, Gemma 3 262144),
// for each sampling mode. The row looks like a model's (a normal bulk plus 8 tokens far above it) and stays the
// same across iterations, as the row just written by the output matmul would be in cache. Two bulk widths:
// sigma 2 leaves ~13% of the mass in the bulk at T 0.8 (top-p 0.95 must then take ~1e5 tokens: the worst
// case), sigma 1 leaves ~1% (top-p stops inside the peaks, the usual case for a confident model).
// Before measuring, each mode is checked against a naive reference (arg-max; the top token's survival).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "sample/sampler.h"

namespace {

using hotrod::sample::SampleResult;
using hotrod::sample::Sampler;
using hotrod::sample::SamplingParams;

std::vector<float> model_like_row(size_t n, uint64_t seed, float sigma) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, sigma);
    std::vector<float> x(n);
    for (float& v : x) v = normal(rng);
    for (int i = 0; i < 8; ++i) x[rng() % n] = 8.0f + static_cast<float>(i) * 0.8f;
    return x;
}

enum Mode { kGreedy, kTopK40, kTopP095, kMinP005, kTemperature, kTopP095Penalties, kLogprobs5 };
const char* const kModeNames[] = {"greedy", "top_k=40", "top_p=0.95", "min_p=0.05", "temperature=0.8",
                                  "top_p=0.95+penalties", "top_p=0.95+logprobs5"};

SamplingParams params_for(Mode mode) {
    SamplingParams p;
    p.seed = 1234;
    p.temperature = 0.8f;
    switch (mode) {
        case kGreedy: p.temperature = 0.0f; break;
        case kTopK40: p.top_k = 40; break;
        case kTopP095: p.top_p = 0.95f; break;
        case kMinP005: p.min_p = 0.05f; break;
        case kTemperature: break;
        case kTopP095Penalties:
            p.top_p = 0.95f;
            p.repetition_penalty = 1.1f;
            p.presence_penalty = 0.5f;
            p.frequency_penalty = 0.5f;
            p.logit_bias = {{10, 2.0f}, {11, -100.0f}};
            break;
        case kLogprobs5:
            p.top_p = 0.95f;
            p.logprobs = true;
            p.n_top_logprobs = 5;
            break;
    }
    return p;
}

void check_or_die(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "bench_sampler: reference check failed: %s\n", what);
        std::exit(1);
    }
}

void BM_Sample(benchmark::State& state) {
    const size_t n = static_cast<size_t>(state.range(0));
    const Mode mode = static_cast<Mode>(state.range(1));
    const float sigma = static_cast<float>(state.range(2));
    const std::vector<float> row = model_like_row(n, 99, sigma);
    Sampler sampler(static_cast<int32_t>(n), params_for(mode));
    if (mode == kTopP095Penalties) {
        for (int i = 0; i < 64; ++i) sampler.accept(static_cast<int32_t>((i * 7919) % n));
    }
    size_t argmax = 0;
    for (size_t i = 1; i < n; ++i)
        if (row[i] > row[argmax]) argmax = i;
    const SampleResult first = sampler.sample(row);
    check_or_die(first.ok(), "status");
    if (mode == kGreedy) check_or_die(first.token_id == static_cast<int32_t>(argmax), "greedy = arg-max");
    else check_or_die(sampler.distribution(row).front().id == static_cast<int32_t>(argmax), "top token survives");
    for (auto _ : state) {
        SampleResult r = sampler.sample(row);
        benchmark::DoNotOptimize(r);
    }
    state.SetLabel(kModeNames[mode]);
}

void modes(benchmark::internal::Benchmark* b) {
    for (const int64_t sigma : {2, 1})
        for (const int64_t n : {49152, 262144})
            for (int mode = kGreedy; mode <= kLogprobs5; ++mode) b->Args({n, mode, sigma});
}

BENCHMARK(BM_Sample)->Apply(modes)->Unit(benchmark::kMicrosecond)->ArgNames({"n_vocab", "mode", "sigma"});

}  // namespace

BENCHMARK_MAIN();
