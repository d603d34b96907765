// fp16 and bf16 conversions (half.h) against numpy: all 65536 halves to float, and 200000 generated floats to half
// (numpy astype) and to bf16 (gguf-py's BF16 quantizer), compared by hash (fixture half.json, gen_quant.py).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "fixture.h"
#include "quant/half.h"

namespace hotrod::quant {
namespace {

// gen_quant.py: the i-th input of gen_half().
uint32_t half_input(uint64_t i) {
    const uint64_t r = test::splitmix64(7000 + i);
    if (i % 2 == 0) {
        uint32_t v = uint32_t(r);
        if ((v & 0x7F800000u) == 0x7F800000u) v &= 0xFF800000u;  // NaN -> inf, as the script does
        return v;
    }
    const uint32_t exp = uint32_t(100 + (r >> 32) % 46);
    return uint32_t((r >> 40) & 1) << 31 | exp << 23 | uint32_t(r & 0x7FFFFF);
}

TEST(Half, AllHalvesToFloatMatchNumpy) {
    const auto fx = test::load_fixture("half.json");
    test::BitsHash h;
    for (uint32_t x = 0; x < 65536; ++x) {
        const float f = fp16_to_fp32(uint16_t(x));
        const bool is_nan_half = (x & 0x7C00) == 0x7C00 && (x & 0x3FF) != 0;
        EXPECT_EQ(std::isnan(f), is_nan_half) << x;
        h.add(is_nan_half ? 0x7FC00000u : std::bit_cast<uint32_t>(f));
    }
    EXPECT_EQ(h.h, fx["f16_to_f32_hash"].get<uint64_t>());
    for (const auto& s : fx["f16_to_f32_samples"]) {
        const float f = fp16_to_fp32(uint16_t(s[0].get<int>()));
        EXPECT_EQ(std::isnan(f) ? 0x7FC00000u : std::bit_cast<uint32_t>(f), s[1].get<uint32_t>()) << s[0];
    }
}

TEST(Half, FloatToHalfAndBf16MatchNumpyAndGguf) {
    const auto fx = test::load_fixture("half.json");
    const int64_t n = fx["n_inputs"];
    test::BitsHash h16, hbf;
    for (int64_t i = 0; i < n; ++i) {
        const float x = std::bit_cast<float>(half_input(uint64_t(i)));
        h16.add(fp32_to_fp16(x));
        hbf.add(fp32_to_bf16(x));
    }
    for (const auto& s : fx["samples"]) {
        const uint32_t bits = s[1];
        ASSERT_EQ(half_input(s[0].get<uint64_t>()), bits) << "input generator out of step with gen_quant.py";
        EXPECT_EQ(fp32_to_fp16(std::bit_cast<float>(bits)), s[2].get<uint16_t>()) << std::hex << bits;
        EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(bits)), s[3].get<uint16_t>()) << std::hex << bits;
    }
    EXPECT_EQ(h16.h, fx["f32_to_f16_hash"].get<uint64_t>());
    EXPECT_EQ(hbf.h, fx["f32_to_bf16_hash"].get<uint64_t>());
}

TEST(Half, NanStaysNanAndRoundTripIsExact) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(nan))));
    EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(nan))));
    for (uint32_t x = 0; x < 65536; ++x) {
        if ((x & 0x7C00) == 0x7C00 && (x & 0x3FF) != 0) continue;
        EXPECT_EQ(fp32_to_fp16(fp16_to_fp32(uint16_t(x))), x);
        EXPECT_EQ(fp32_to_bf16(bf16_to_fp32(uint16_t(x))), x);
    }
}

}  // namespace
}  // namespace hotrod::quant
