// Random test data for the 32-element and float formats (cpu tests only): weight rows with random codes and
// finite random scales, activation rows from random floats, and the error scale tolerances are measured against.
#pragma once

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/half.h"
#include "quant/types.h"

namespace hotrod::cpu::testdata {

using quant::DType;

// Unit roundoff of float: each rounded float operation is off by at most this relative amount.
constexpr double kFloatU = 1.0 / (1 << 24);

// Byte offsets of a block's fp16 scale fields (d, then m for the "+ m" formats).
inline int n_scale_fields(DType t) { return t == DType::Q4_1 || t == DType::Q5_1 ? 2 : 1; }
inline bool is_float_type(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

// Random floats: normal, every 97th scaled by 4 so block scales differ (never zeros).
inline std::vector<float> random_floats(int64_t n, std::mt19937& rng) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = normal(rng);
    for (int64_t i = 0; i < n; i += 97) x[size_t(i)] *= 4.0f;
    return x;
}

// n_rows rows of n elements, row r at r * stride bytes. Quantized types: random code bytes, then random finite
// fp16 scales of either sign in the d (and m) fields. Float types: random floats in the type.
inline std::vector<uint8_t> random_weight_rows(DType t, int64_t n, int n_rows, size_t stride, std::mt19937& rng) {
    std::vector<uint8_t> w(stride * size_t(n_rows) + 64);
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : w) b = uint8_t(byte(rng));
    if (is_float_type(t)) {
        for (int r = 0; r < n_rows; ++r) {
            const std::vector<float> f = random_floats(n, rng);
            uint8_t* row = w.data() + size_t(r) * stride;
            for (int64_t i = 0; i < n; ++i) {
                if (t == DType::F32) {
                    std::memcpy(row + 4 * i, &f[size_t(i)], 4);
                } else {
                    const uint16_t h = t == DType::F16 ? quant::fp32_to_fp16(f[size_t(i)]) : quant::fp32_to_bf16(f[size_t(i)]);
                    std::memcpy(row + 2 * i, &h, 2);
                }
            }
        }
        return w;
    }
    const size_t block_bytes = quant::type_info(t).block_bytes;
    std::uniform_real_distribution<float> scale(-0.02f, 0.02f);
    for (int r = 0; r < n_rows; ++r) {
        for (int64_t b = 0; b < n / quant::QK; ++b) {
            uint8_t* block = w.data() + size_t(r) * stride + size_t(b) * block_bytes;
            for (int f = 0; f < n_scale_fields(t); ++f) {
                const uint16_t h = quant::fp32_to_fp16(scale(rng));
                std::memcpy(block + 2 * f, &h, 2);
            }
        }
    }
    return w;
}

// An upper bound on the sum of the magnitudes of the terms any of our dot products adds up for this row pair:
// sum |w_i x_i| over dequantized values, plus sum |m_b| |x_i| for the "+ m" formats (their reference adds the d
// and m parts separately, and those can be larger than the dequantized product).
inline double abs_terms(DType t, const uint8_t* w_row, const std::vector<float>& w, const std::vector<float>& x) {
    double s = 0.0;
    for (size_t i = 0; i < w.size(); ++i) s += std::fabs(double(w[i]) * double(x[i]));
    if (n_scale_fields(t) == 2) {
        const size_t block_bytes = quant::type_info(t).block_bytes;
        for (size_t b = 0; b < w.size() / quant::QK; ++b) {
            uint16_t h;
            std::memcpy(&h, w_row + b * block_bytes + 2, 2);
            double xs = 0.0;
            for (int j = 0; j < quant::QK; ++j) xs += std::fabs(double(x[b * quant::QK + j]));
            s += std::fabs(double(quant::fp16_to_fp32(h))) * xs;
        }
    }
    return s;
}

inline std::vector<float> dequantized(DType t, const void* row, int64_t n) {
    std::vector<float> out(static_cast<size_t>(n));
    quant::dequantize_row(t, row, out.data(), n);
    return out;
}

}  // namespace hotrod::cpu::testdata
