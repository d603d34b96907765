// The SIMD F32 -> Q8_K quantizers give the same bytes as quant::quantize_row_q8_k_ref: random rows of 1 to 64
// super-blocks, plus the cases where a slip would show: an all-zero block, ties for the largest magnitude (the
// first one sets the sign), products that land exactly on .5 (round half to even), and tiny/huge scales.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "cpu/dot_kquants_kernels.h"
#include "quant/blocks.h"
#include "quant/quantize.h"

namespace hotrod::cpu {
namespace {

using quant::QK_K;
using QuantizeFn = void (*)(const float*, void*, int64_t);

struct Quantizer {
    const char* name;
    QuantizeFn fn;
    bool runnable;
};

std::vector<Quantizer> quantizers() {
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    return {{"avx2", quantize_row_q8_k_avx2, avx2}, {"avx512", quantize_row_q8_k_avx512, avx512}};
}

void expect_same_bytes(const std::vector<float>& x, const char* what) {
    const int64_t n = int64_t(x.size());
    const size_t bytes = size_t(n / QK_K) * sizeof(quant::BlockQ8_K);
    std::vector<uint8_t> want(bytes), got(bytes, 0xCD);
    quant::quantize_row_q8_k_ref(x.data(), want.data(), n);
    for (const Quantizer& q : quantizers()) {
        if (!q.runnable) continue;
        std::fill(got.begin(), got.end(), 0xCD);
        q.fn(x.data(), got.data(), n);
        for (size_t i = 0; i < bytes; ++i) {
            ASSERT_EQ(got[i], want[i]) << q.name << " " << what << " n=" << n << ": first difference at byte " << i
                                       << " (block " << i / sizeof(quant::BlockQ8_K) << ", offset "
                                       << i % sizeof(quant::BlockQ8_K) << ")";
        }
    }
}

TEST(QuantizeQ8K, RandomRowsMatchReference) {
    std::mt19937 rng(42);
    std::normal_distribution<float> normal;
    std::uniform_real_distribution<float> log_scale(-20.0f, 20.0f);
    for (int64_t n : {256, 512, 768, 2560, 16384}) {
        for (int trial = 0; trial < 8; ++trial) {
            std::vector<float> x(static_cast<size_t>(n));
            const float scale = std::exp2(log_scale(rng));
            for (auto& v : x) v = normal(rng) * scale;
            expect_same_bytes(x, "random");
        }
    }
}

TEST(QuantizeQ8K, EdgeCasesMatchReference) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    std::vector<float> x(4 * QK_K);
    for (auto& v : x) v = uni(rng);
    // Block 0 all zeros (d = 0, all-zero block).
    std::fill(x.begin(), x.begin() + QK_K, 0.0f);
    // Block 1: +2 and -2 tie for the largest magnitude; the first (+2 at index 300) sets the sign.
    x[300] = 2.0f;
    x[400] = -2.0f;
    // Block 2: extreme -127 makes the scale exactly 1, so values on .5 test round-half-to-even.
    for (int i = 0; i < QK_K; ++i) x[size_t(2 * QK_K + i)] = float(i % 100) * 0.5f - 25.0f;
    x[size_t(2 * QK_K + 17)] = -127.0f;
    // Block 3: largest magnitude last, positive.
    x[size_t(4 * QK_K - 1)] = 3.0f;
    expect_same_bytes(x, "edge");
}

}  // namespace
}  // namespace hotrod::cpu
