// Activation quantizers: the SIMD F32 -> Q8_0 versions give byte-identical blocks to the activation reference
// (quant::quantize_row_q8_0_act_ref, llama.cpp's x86 rounding), on random rows and on values sitting exactly on
// rounding ties (x * id = k + 0.5), where half-away-from-zero would differ.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/quantize_act.h"
#include "quant/blocks.h"
#include "quant/quantize.h"
#include "q32_test_data.h"

namespace hotrod::cpu {
namespace {

void expect_same_as_ref(const std::vector<float>& x, const char* what) {
    const int64_t n = int64_t(x.size());
    std::vector<uint8_t> ref(size_t(n / quant::QK) * sizeof(quant::BlockQ8_0));
    quant::quantize_row_q8_0_act_ref(x.data(), ref.data(), n);
    for (int isa = 0; isa < n_supported_isas(); ++isa) {
        std::vector<uint8_t> got(ref.size(), 0xab);
        find_quantize_q8_0(Isa(isa))(x.data(), got.data(), n);
        ASSERT_EQ(0, std::memcmp(got.data(), ref.data(), ref.size())) << what << " at " << isa_name(Isa(isa));
    }
}

TEST(QuantizeAct, Q8_0MatchesReference) {
    std::mt19937 rng(7);
    for (int64_t n : {32, 64, 96, 4096, 16384}) expect_same_as_ref(testdata::random_floats(n, rng), "random");
}

TEST(QuantizeAct, Q8_0RoundsTiesToEven) {
    // amax 127 gives d = 1 and id = 1 exactly, so x * id = x: ties at +-k.5 for every k, plus zeros.
    std::vector<float> x(64);
    for (int i = 0; i < 64; ++i) x[size_t(i)] = float(i % 32 - 16) + 0.5f;
    x[0] = 127.0f;
    x[32] = -127.0f;
    x[5] = 0.0f;
    x[40] = -0.0f;
    expect_same_as_ref(x, "ties");
    std::vector<float> zeros(32, 0.0f);  // an all-zero block: d = 0, every code 0
    expect_same_as_ref(zeros, "zeros");
}

TEST(QuantizeAct, Q8_KIsTheReferenceOrEqual) {
    std::mt19937 rng(8);
    const std::vector<float> x = testdata::random_floats(1024, rng);
    std::vector<uint8_t> ref(4 * sizeof(quant::BlockQ8_K)), got(ref.size());
    quant::quantize_row_q8_k_ref(x.data(), ref.data(), 1024);
    for (int isa = 0; isa < n_supported_isas(); ++isa) {
        find_quantize_q8_k(Isa(isa))(x.data(), got.data(), 1024);
        EXPECT_EQ(0, std::memcmp(got.data(), ref.data(), ref.size())) << isa_name(Isa(isa));
    }
}

// round_row_like_act_ref (the reference of the GPU's fp16 prefill activations): every element on its block's grid
// (d * an integer code of at most 127), within half a step of x (up to 127 * 2^-11 steps more for Q8_0 / Q8_1,
// whose d is rounded to fp16), zero blocks staying zero, and a Q8_K block's extreme kept exactly.
TEST(QuantizeAct, RoundRowLikeActIsTheGridNearestX) {
    std::mt19937 rng(9);
    for (const quant::DType act : {quant::DType::Q8_0, quant::DType::Q8_1, quant::DType::Q8_K}) {
        const int block = act == quant::DType::Q8_K ? quant::QK_K : quant::QK;
        std::vector<float> x = testdata::random_floats(1024, rng);
        std::fill(x.begin() + block, x.begin() + 2 * block, 0.0f);  // the second block: all zeros
        std::vector<float> out(x.size(), -1.0f);
        quant::round_row_like_act_ref(act, x.data(), out.data(), int64_t(x.size()));
        for (size_t b = 0; b < x.size() / size_t(block); ++b) {
            float amax = 0.0f;
            for (int j = 0; j < block; ++j) amax = std::max(amax, std::fabs(x[b * size_t(block) + size_t(j)]));
            const float step = amax / 127.0f;
            for (int j = 0; j < block; ++j) {
                const size_t i = b * size_t(block) + size_t(j);
                if (amax == 0.0f) {
                    EXPECT_EQ(out[i], 0.0f);
                    continue;
                }
                // Q8_0 / Q8_1: d rounded to fp16 moves d * q by up to 127 * 2^-11 steps more.
                const float bound = act == quant::DType::Q8_K ? 0.501f : 0.5f + 127.0f / 2048.0f + 0.001f;
                EXPECT_LE(std::fabs(out[i] - x[i]), bound * step) << quant::type_name(act) << " element " << i;
                EXPECT_LE(std::fabs(out[i]), amax * 1.001f);
                if (act == quant::DType::Q8_K && std::fabs(x[i]) == amax) {
                    EXPECT_EQ(std::fabs(out[i]), amax);
                }
            }
        }
    }
    std::vector<float> out(40);
    EXPECT_THROW(quant::round_row_like_act_ref(quant::DType::Q8_0, out.data(), out.data(), 40), std::invalid_argument);
    EXPECT_THROW(quant::round_row_like_act_ref(quant::DType::F16, out.data(), out.data(), 32), std::invalid_argument);
}

}  // namespace
}  // namespace hotrod::cpu
