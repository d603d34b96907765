// Random test data for the K-format kernels (cpu tests only): the formats with their references and fp16 field
// offsets, weight rows with random codes and finite random scales, Q8_K activation rows from random floats.
#pragma once

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "cpu/dot.h"
#include "quant/blocks.h"
#include "quant/dot_ref.h"
#include "quant/half.h"
#include "quant/quantize.h"

namespace hotrod::cpu::kquants_testdata {

using quant::DType;
using quant::QK_K;

struct Format {
    DType type;
    size_t block_bytes;
    float (*dot_ref)(int64_t, const void*, const void*);
    size_t fp16_offsets[2];  // byte offsets of the fp16 scale fields inside a block (d, dmin); SIZE_MAX if absent
    int n_fp16;
};

inline const Format kFormats[] = {
    {DType::Q2_K, sizeof(quant::BlockQ2_K), quant::dot_ref_q2_k, {offsetof(quant::BlockQ2_K, d), offsetof(quant::BlockQ2_K, dmin)}, 2},
    {DType::Q3_K, sizeof(quant::BlockQ3_K), quant::dot_ref_q3_k, {offsetof(quant::BlockQ3_K, d), 0}, 1},
    {DType::Q4_K, sizeof(quant::BlockQ4_K), quant::dot_ref_q4_k, {offsetof(quant::BlockQ4_K, d), offsetof(quant::BlockQ4_K, dmin)}, 2},
    {DType::Q5_K, sizeof(quant::BlockQ5_K), quant::dot_ref_q5_k, {offsetof(quant::BlockQ5_K, d), offsetof(quant::BlockQ5_K, dmin)}, 2},
    {DType::Q6_K, sizeof(quant::BlockQ6_K), quant::dot_ref_q6_k, {offsetof(quant::BlockQ6_K, d), 0}, 1},
};

// Random weight rows: random bytes everywhere, then finite fp16 scales of moderate size and either sign in the
// d/dmin fields (random bytes there could be inf/nan, which the formats never hold).
inline std::vector<uint8_t> random_weights(const Format& f, int64_t n_blocks_total, std::mt19937& rng) {
    std::vector<uint8_t> w(size_t(n_blocks_total) * f.block_bytes);
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : w) b = uint8_t(byte(rng));
    std::uniform_real_distribution<float> scale(-0.02f, 0.02f);
    for (int64_t b = 0; b < n_blocks_total; ++b) {
        for (int i = 0; i < f.n_fp16; ++i) {
            const uint16_t h = quant::fp32_to_fp16(scale(rng));
            std::memcpy(&w[size_t(b) * f.block_bytes + f.fp16_offsets[i]], &h, sizeof h);
        }
    }
    return w;
}

// One Q8_K row from random floats (normal, with a few larger outliers so scales differ across super-blocks).
inline std::vector<uint8_t> random_q8_k_row(int64_t n, std::mt19937& rng) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = normal(rng);
    for (int64_t i = 0; i < n; i += 97) x[size_t(i)] *= 4.0f;
    std::vector<uint8_t> q(size_t(n / QK_K) * sizeof(quant::BlockQ8_K));
    quant::quantize_row_q8_k_ref(x.data(), q.data(), n);
    return q;
}

// Sum of |w_i * x_i| over dequantized values: the scale that float rounding errors are measured against.
inline double abs_dot(const std::vector<float>& w, const std::vector<float>& x) {
    double s = 0.0;
    for (size_t i = 0; i < w.size(); ++i) s += std::fabs(double(w[i]) * double(x[i]));
    return s;
}

// Detected here with the compiler's CPUID helper so this test does not depend on the feature module.
inline bool isa_runnable(Isa isa) {
    switch (isa) {
        case Isa::Scalar: return true;
        case Isa::Avx2:
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
        case Isa::Avx512:
            return isa_runnable(Isa::Avx2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    }
    return false;
}

inline const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::Scalar: return "scalar";
        case Isa::Avx2: return "avx2";
        case Isa::Avx512: return "avx512";
    }
    return "?";
}

}  // namespace hotrod::cpu::kquants_testdata
