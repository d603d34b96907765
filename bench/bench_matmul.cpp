// Matmul benchmarks beside their floor: copy and read-sum bandwidth of buffers far larger than the LLC, the GEMV at
// decode shape (1 token; GB/s of weights streamed) and the GEMM at prefill shape (512 tokens; GFLOP/s), on 1 and 2
// threads, for Q4_0, Q4_1, Q8_0, Q4_K, Q6_K and F16. Weights rotate through enough copies to exceed the LLC, so the
// GEMV streams from DRAM as a real model's would. Each case checks a sample of outputs against the scalar
// references before it measures. ISA: the best this CPU has, capped by env HOTROD_ISA.
#include <benchmark/benchmark.h>

#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/matmul.h"
#include "quant/blocks.h"
#include "quant/dot_ref.h"
#include "quant/half.h"
#include "quant/quantize.h"

namespace {

using hotrod::cpu::ThreadPool;
using hotrod::quant::DType;

constexpr size_t kStreamBytes = size_t(512) << 20;  // 16x the 32 MB LLC of the machine this was tuned on
constexpr size_t kMinRotateBytes = size_t(256) << 20;

ThreadPool& pool(int n_threads) {
    static std::map<int, std::unique_ptr<ThreadPool>> pools;
    auto& p = pools[n_threads];
    if (!p) p = std::make_unique<ThreadPool>(n_threads);
    return *p;
}

// --- floors -------------------------------------------------------------------------------------------------

void BM_Memcpy(benchmark::State& state) {
    const int n_threads = int(state.range(0));
    static std::vector<uint8_t> src(kStreamBytes, 1), dst(kStreamBytes, 2);
    for (auto _ : state) {
        pool(n_threads).run([&](int t, int n) {
            const size_t part = kStreamBytes / size_t(n);
            std::memcpy(dst.data() + part * size_t(t), src.data() + part * size_t(t), part);
        });
        benchmark::ClobberMemory();
    }
    // Bytes read + bytes written.
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(2 * kStreamBytes));
}

// Bench files get no SIMD flags from the build, so this one function asks for AVX2 itself (the CPU check is the
// caller's: every machine hotrod is benchmarked on has AVX2).
__attribute__((target("avx2"))) float read_sum_avx2(const float* p, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    return lanes[0] + lanes[7];
}

void BM_ReadSum(benchmark::State& state) {
    const int n_threads = int(state.range(0));
    static std::vector<float> buf(kStreamBytes / sizeof(float), 1.0f);
    float sums[8] = {};
    for (auto _ : state) {
        pool(n_threads).run([&](int t, int n) {
            const size_t part = buf.size() / size_t(n);
            sums[t] = read_sum_avx2(buf.data() + part * size_t(t), part);
        });
        benchmark::DoNotOptimize(sums);
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kStreamBytes));
}

// --- matmul -------------------------------------------------------------------------------------------------

// Random rows with finite, small scales in the fp16 scale fields (random bytes there could be inf/nan).
std::vector<uint8_t> random_weights(DType t, int64_t n_out, int64_t n_in, uint32_t seed) {
    const size_t row = *hotrod::quant::row_bytes(t, n_in);
    std::vector<uint8_t> w(row * size_t(n_out));
    std::mt19937 rng(seed);
    for (size_t i = 0; i + 4 <= w.size(); i += 4) {
        const uint32_t r = rng();
        std::memcpy(&w[i], &r, 4);
    }
    std::uniform_real_distribution<float> scale(-0.01f, 0.01f);
    auto put = [&](size_t at) {
        const uint16_t h = hotrod::quant::fp32_to_fp16(scale(rng));
        std::memcpy(&w[at], &h, 2);
    };
    if (t == DType::F16) {
        for (size_t i = 0; i < w.size(); i += 2) put(i);
        return w;
    }
    const size_t block = hotrod::quant::type_info(t).block_bytes;
    for (size_t b = 0; b < w.size() / block; ++b) {
        switch (t) {
            case DType::Q4_1: case DType::Q4_K: put(b * block); put(b * block + 2); break;
            case DType::Q6_K: put(b * block + offsetof(hotrod::quant::BlockQ6_K, d)); break;
            default: put(b * block); break;
        }
    }
    return w;
}

using RowDot = float (*)(int64_t, const void*, const void*);
RowDot ref_for(DType t) {
    switch (t) {
        case DType::Q4_0: return hotrod::quant::dot_ref_q4_0;
        case DType::Q4_1: return hotrod::quant::dot_ref_q4_1;
        case DType::Q8_0: return hotrod::quant::dot_ref_q8_0;
        case DType::Q4_K: return hotrod::quant::dot_ref_q4_k;
        case DType::Q6_K: return hotrod::quant::dot_ref_q6_k;
        default: return hotrod::quant::dot_ref_f16;
    }
}

struct Case {
    DType type;
    int64_t n_out, n_in, n_tokens;
    std::vector<std::vector<uint8_t>> copies;
    std::vector<float> x, y;
    hotrod::cpu::Workspace ws;
};

// Builds the case and checks 16 sampled outputs of every token against the reference; "" when they agree.
std::string setup(Case& c, int n_threads, hotrod::cpu::Isa isa, bool rotate) {
    const size_t bytes = *hotrod::quant::row_bytes(c.type, c.n_in) * size_t(c.n_out);
    const size_t n_copies = rotate ? (kMinRotateBytes + bytes - 1) / bytes : 1;
    for (size_t i = 0; i < n_copies; ++i) c.copies.push_back(random_weights(c.type, c.n_out, c.n_in, uint32_t(i + 1)));
    std::mt19937 rng(42);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    c.x.resize(size_t(c.n_tokens * c.n_in));
    for (auto& v : c.x) v = normal(rng);
    c.y.assign(size_t(c.n_tokens * c.n_out), 0.0f);
    c.ws.reserve(c.n_tokens, c.n_in);

    const auto w = hotrod::cpu::dense_weight(c.type, c.copies[0].data(), c.n_out, c.n_in);
    hotrod::cpu::matmul(pool(n_threads), isa, w, c.x.data(), c.n_tokens, c.y.data(), c.ws);
    const DType at = hotrod::cpu::activation_type(c.type);
    const size_t arow = at == DType::F32 ? size_t(c.n_in) * 4 : *hotrod::quant::row_bytes(at, c.n_in);
    std::vector<uint8_t> xq(arow);
    const size_t wrow = w.row_stride;
    for (int64_t t = 0; t < c.n_tokens; t += std::max<int64_t>(1, c.n_tokens / 7)) {
        const float* xt = c.x.data() + t * c.n_in;
        if (at == DType::F32) std::memcpy(xq.data(), xt, arow);
        else hotrod::quant::quantize_row(at, xt, xq.data(), c.n_in);
        for (int64_t r = 0; r < c.n_out; r += c.n_out / 16) {
            const float ref = ref_for(c.type)(c.n_in, c.copies[0].data() + size_t(r) * wrow, xq.data());
            const float got = c.y[size_t(t * c.n_out + r)];
            if (!(std::fabs(got - ref) <= 1e-4f * std::fabs(ref) + 1e-3f)) {
                return "mismatch at token " + std::to_string(t) + " row " + std::to_string(r) + ": " +
                       std::to_string(got) + " vs reference " + std::to_string(ref);
            }
        }
    }
    return "";
}

// args: type id, n_out, n_in, n_tokens, n_threads, hot (1: one copy of W, cache-resident if small: the kernel's
// compute speed; 0: the GEMV rotates through copies larger than the LLC so it streams from DRAM)
void BM_Matmul(benchmark::State& state) {
    Case c{DType(state.range(0)), state.range(1), state.range(2), state.range(3), {}, {}, {}, {}};
    const int n_threads = int(state.range(4));
    const hotrod::cpu::Isa isa = hotrod::cpu::detect_isa();
    const bool rotate = state.range(5) == 0 && c.n_tokens <= 8;
    if (const std::string err = setup(c, n_threads, isa, rotate); !err.empty()) {
        state.SkipWithError(err.c_str());
        return;
    }
    const size_t bytes = *hotrod::quant::row_bytes(c.type, c.n_in) * size_t(c.n_out);
    size_t i = 0;
    for (auto _ : state) {
        const auto w = hotrod::cpu::dense_weight(c.type, c.copies[i++ % c.copies.size()].data(), c.n_out, c.n_in);
        hotrod::cpu::matmul(pool(n_threads), isa, w, c.x.data(), c.n_tokens, c.y.data(), c.ws);
        benchmark::ClobberMemory();
    }
    state.SetLabel(std::string(hotrod::quant::type_name(c.type)) + " " +
                   std::string(hotrod::cpu::isa_name(isa)) + (c.n_tokens == 1 ? " GEMV" : " GEMM"));
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
    state.counters["GFLOPS"] = benchmark::Counter(double(state.iterations()) * 2.0 * double(c.n_out) *
                                                      double(c.n_in) * double(c.n_tokens) * 1e-9,
                                                  benchmark::Counter::kIsRate);
}

void matmul_args(benchmark::internal::Benchmark* b) {
    for (DType t : {DType::Q4_0, DType::Q4_1, DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::F16}) {
        for (int threads : {1, 2}) {
            b->Args({int64_t(t), 2560, 9728, 1, threads, 0});
            b->Args({int64_t(t), 9728, 2560, 1, threads, 0});
            b->Args({int64_t(t), 2560, 9728, 512, threads, 0});
        }
        b->Args({int64_t(t), 128, 4096, 1, 1, 1});  // ~300 KB of Q4_0: L2-resident, compute-bound GEMV
    }
    b->ArgNames({"type", "n_out", "n_in", "tokens", "threads", "hot"});
}

}  // namespace

BENCHMARK(BM_Memcpy)->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReadSum)->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Matmul)->Apply(matmul_args)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
