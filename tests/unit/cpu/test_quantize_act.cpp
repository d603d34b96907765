// Activation quantizers: the SIMD F32 -> Q8_0 versions give byte-identical blocks to the activation reference
// (quant::quantize_row_q8_0_act_ref, llama.cpp's x86 rounding), on random rows and on values sitting exactly on
// rounding ties (x * id = k + 0.5), where half-away-from-zero would differ.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
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

}  // namespace
}  // namespace hotrod::cpu
