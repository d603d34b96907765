// quantize_row: bit-identical to gguf-py's quantize() where gguf has a quantizer (F16, BF16, Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0; fixture quantize.json on inputs regenerated here), and for the K formats (no Python quantizer) a
// round-trip error bound on Gaussian data, the dequantizer itself being checked against gguf in test_dequantize.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>

#include "fixture.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/quantize.h"

namespace hotrod::quant {
namespace {

std::vector<float> fixture_input(const nlohmann::json& fx) {
    std::vector<float> x = test::gen_floats(fx["seed"].get<uint64_t>(), fx["n"].get<int64_t>());
    // The edge blocks gen_quant.py writes over the generated values (see its "edits").
    for (int i = 0; i < 32; ++i) x[size_t(i)] = 0.0f;
    for (int i = 32; i < 64; ++i) x[size_t(i)] = 0.5f;
    for (int i = 64; i < 96; ++i) x[size_t(i)] = 0.001f;
    x[80] = -3.0f;
    return x;
}

TEST(Quantize, BitIdenticalToGguf) {
    const auto fx = test::load_fixture("quantize.json");
    const std::vector<float> x = fixture_input(fx);
    test::BitsHash h;
    for (float v : x) h.add(std::bit_cast<uint32_t>(v));
    ASSERT_EQ(h.h, fx["input_hash"].get<uint64_t>()) << "input generator out of step with gen_quant.py";
    EXPECT_EQ(fx["formats"].size(), 7u);  // F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0: every gguf quantizer we share
    for (const auto& f : fx["formats"]) {
        const DType type = *type_from_name(f["type"].get<std::string>());
        SCOPED_TRACE(f["type"].get<std::string>());
        const auto want = test::from_hex(f["bytes"]);
        std::vector<uint8_t> got(*row_bytes(type, int64_t(x.size())));
        ASSERT_EQ(got.size(), want.size());
        quantize_row(type, x.data(), got.data(), int64_t(x.size()));
        const size_t bb = type_info(type).block_bytes;
        int n_bad = 0;
        for (size_t b = 0; b < got.size() / bb; ++b) {
            if (std::memcmp(got.data() + b * bb, want.data() + b * bb, bb) != 0 && n_bad++ < 3)
                ADD_FAILURE() << "block " << b << " differs from gguf-py";
        }
        EXPECT_EQ(n_bad, 0);
    }
}

std::vector<float> gaussian(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = dist(rng);
    return x;
}

double round_trip_nmse(DType type, const std::vector<float>& x) {
    const int64_t n = int64_t(x.size());
    std::vector<uint8_t> q(*row_bytes(type, n));
    std::vector<float> y(x.size());
    quantize_row(type, x.data(), q.data(), n);
    dequantize_row(type, q.data(), y.data(), n);
    for (float v : y) EXPECT_TRUE(std::isfinite(v));
    return test::nmse(x, y);
}

// Bounds on NMSE for N(0,1) data, 64 super-blocks, seed 7. Measured (scale search of scale_search.cpp):
//   Q2_K 0.0686  Q3_K 0.0206  Q4_K 0.00483  Q5_K 0.00117  Q6_K 0.000283  Q8_K 4.75e-5
//   Q4_0 0.00732 Q4_1 0.00608 Q5_0 0.00179  Q5_1 0.00142  Q8_0 2.84e-5    F16 4.3e-8  BF16 2.71e-6
// and each bound is that plus ~15-25%, so a regression in the search (e.g. falling back to the amax grid, which
// gives Q4_K ~0.0061 and Q5_K ~0.0014 on sub-blocks) fails. For scale: a uniform grid over +-2.5 sigma has NMSE
// (5/(2^b-1))^2/12 = 0.231, 0.0425, 0.0093, 0.0022, 0.00053 for 2..6 bits; the K formats must beat these.
struct Bound {
    DType type;
    double max_nmse;
};
constexpr Bound kBounds[] = {
    {DType::Q2_K, 0.080},   {DType::Q3_K, 0.025},  {DType::Q4_K, 0.0056}, {DType::Q5_K, 0.0014},
    {DType::Q6_K, 0.00034}, {DType::Q8_K, 6e-5},   {DType::Q4_0, 0.0088}, {DType::Q4_1, 0.0073},
    {DType::Q5_0, 0.0022},  {DType::Q5_1, 0.0017}, {DType::Q8_0, 3.5e-5}, {DType::F16, 6e-8},
    {DType::BF16, 3.5e-6},
};

TEST(Quantize, RoundTripErrorOnGaussianData) {
    const std::vector<float> x = gaussian(64 * QK_K, 7);
    for (const auto& b : kBounds) {
        const double e = round_trip_nmse(b.type, x);
        EXPECT_LT(e, b.max_nmse) << type_name(b.type);
        std::printf("  %-5s NMSE %.3g (bound %.3g)\n", std::string(type_name(b.type)).c_str(), e, b.max_nmse);
    }
}

TEST(Quantize, KFormatsKeepQualityAcrossScalesAndOffsets) {
    // Weights are not always centred or unit-scale: shift and scale the data, including an all-positive block
    // (min clamps to 0 in Q*_K) and rows of several lengths.
    for (const int64_t n : {int64_t(256), int64_t(768), int64_t(2816)}) {
        for (const float scale : {1e-3f, 0.05f, 30.0f}) {
            std::vector<float> x = gaussian(n, uint32_t(n));
            for (size_t i = 0; i < x.size(); ++i) x[i] = scale * (x[i] + (i < 256 ? 4.0f : 0.3f));
            for (const auto& b : kBounds) {
                if (b.type == DType::F16 || b.type == DType::BF16) continue;  // fp16 has no scale: 1e-3 loses bits
                // Offset data has a larger mean square, so the same absolute error is a smaller NMSE.
                EXPECT_LT(round_trip_nmse(b.type, x), b.max_nmse) << type_name(b.type) << " n=" << n << " scale=" << scale;
            }
        }
    }
}

// The quick K quantizers (synthetic models): valid blocks, decoded by the same dequantizer, whose error is the
// range grid's. Measured on the data above (seed 7): Q4_K 0.00608, Q6_K 0.000352; bounds ~25% above.
TEST(Quantize, QuickKFormatsGiveTheRangeGridsError) {
    const std::vector<float> x = gaussian(64 * QK_K, 7);
    for (const auto& [type, bound] : {std::pair{DType::Q4_K, 0.0076}, std::pair{DType::Q6_K, 0.00044}}) {
        const int64_t n = int64_t(x.size());
        std::vector<uint8_t> q(*row_bytes(type, n));
        std::vector<float> y(x.size());
        quantize_row_quick(type, x.data(), q.data(), n);
        dequantize_row(type, q.data(), y.data(), n);
        const double e = test::nmse(x, y);
        EXPECT_LT(e, bound) << type_name(type);
        EXPECT_GT(e, round_trip_nmse(type, x)) << type_name(type) << ": the search should do better";
        std::printf("  %-5s quick NMSE %.3g (bound %.3g)\n", std::string(type_name(type)).c_str(), e, bound);
        std::vector<float> zeros(QK_K, 0.0f), back(QK_K, 1.0f);
        quantize_row_quick(type, zeros.data(), q.data(), QK_K);
        dequantize_row(type, q.data(), back.data(), QK_K);
        for (float v : back) ASSERT_EQ(v, 0.0f) << type_name(type);
    }
    // Other types go to quantize_row, errors included.
    EXPECT_THROW(quantize_row_quick(DType::Q4_K, x.data(), nullptr, 100), std::invalid_argument);
}

TEST(Quantize, ZerosAndConstantsSurvive) {
    for (const auto& b : kBounds) {
        for (const float c : {0.0f, 1.0f, -2.0f}) {
            std::vector<float> x(QK_K, c), y(QK_K);
            std::vector<uint8_t> q(*row_bytes(b.type, QK_K));
            quantize_row(b.type, x.data(), q.data(), QK_K);
            dequantize_row(b.type, q.data(), y.data(), QK_K);
            for (float v : y) ASSERT_NEAR(v, c, 1e-3 * std::fabs(c)) << type_name(b.type) << " c=" << c;
        }
    }
}

TEST(Quantize, Q8KBlockSumsMatchValues) {
    const std::vector<float> x = gaussian(4 * QK_K, 3);
    std::vector<BlockQ8_K> q(4);
    quantize_row(DType::Q8_K, x.data(), q.data(), int64_t(x.size()));
    for (const auto& b : q) {
        for (int g = 0; g < QK_K / 16; ++g) {
            int sum = 0;
            for (int j = 0; j < 16; ++j) sum += b.qs[g * 16 + j];
            EXPECT_EQ(b.bsums[g], sum);
        }
    }
}

TEST(Quantize, SupportedTypesAndErrors) {
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                    DType::Q8_0, DType::Q8_1, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K,
                    DType::Q8_K})  // Q8_1 and Q8_K: activation formats (quantized on every matmul)
        EXPECT_TRUE(can_quantize(t)) << type_name(t);
    EXPECT_FALSE(can_quantize(DType::IQ4_XS));
    float x[256] = {};
    uint8_t q[512];
    try {
        quantize_row(DType::IQ4_NL, x, q, 32);
        FAIL() << "IQ4_NL should throw";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("IQ4_NL"), std::string::npos) << e.what();
    }
    EXPECT_THROW(quantize_row(DType::Q4_K, x, q, 128), std::invalid_argument);
    EXPECT_THROW(quantize_row(DType::Q4_0, x, q, 31), std::invalid_argument);
}

}  // namespace
}  // namespace hotrod::quant
