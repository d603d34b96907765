// K-format dot kernels (Q2_K..Q6_K against Q8_K): the scalar references against dequantize-then-dot, and every
// SIMD kernel this CPU can run against the scalar reference, on random blocks and activations, over ragged tiles
// (odd row counts, 1..8 and 512 columns, 1 to 64 super-blocks, padded strides).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cpu/dot_kquants.h"
#include "kquants_test_data.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/dot_ref.h"
#include "quant/half.h"
#include "quant/quantize.h"

namespace hotrod::cpu {
namespace {

using quant::DType;
using quant::QK_K;
using namespace kquants_testdata;

class DotKquants : public ::testing::TestWithParam<Format> {};

// The reference (integer sums per super-block, scaled once) equals a plain double-precision dot of the
// dequantized rows. Tolerance 1e-5 of sum |w*x|: the reference rounds each super-block's float terms and adds up
// to 64 of them in float (about 64 * 2^-24 = 4e-6 relative to that sum at worst), the dequantized values are exact
// floats up to one rounding of d*scale (2^-24).
TEST_P(DotKquants, ReferenceEqualsDequantizeThenDot) {
    const Format& f = GetParam();
    std::mt19937 rng(1234 + int(f.type));
    for (int64_t n : {256, 512, 1280, 16384}) {
        for (int trial = 0; trial < 4; ++trial) {
            const auto w = random_weights(f, n / QK_K, rng);
            const auto x = random_q8_k_row(n, rng);
            std::vector<float> wf(static_cast<size_t>(n)), xf(static_cast<size_t>(n));
            quant::dequantize_row(f.type, w.data(), wf.data(), n);
            quant::dequantize_row(DType::Q8_K, x.data(), xf.data(), n);
            double expect = 0.0;
            for (int64_t i = 0; i < n; ++i) expect += double(wf[size_t(i)]) * double(xf[size_t(i)]);
            const float got = f.dot_ref(n, w.data(), x.data());
            const double tol = 1e-5 * abs_dot(wf, xf) + 1e-30;
            EXPECT_NEAR(got, expect, tol) << quant::type_name(f.type) << " n=" << n << " trial=" << trial;
        }
    }
}

struct TileShape {
    int64_t n;
    int n_rows;
    int n_cols;
};

// Runs one tile through `kernel` and checks every output against the scalar reference of its row and column.
// Tolerance 2e-6 of sum |w*x| (+1e-6 of the reference's own magnitude): the integer part of each super-block is
// exact in both, so they differ only in the order the float terms are added (lanes, then a horizontal sum, versus
// one running sum): at most ~(64 + 16) roundings of 2^-24 relative to the sum of |terms|, which is bounded by
// sum |w*x| up to the one rounding of each block's d*dx. `exact`: the kernel takes the reference's float steps per
// super-block (Q4_K / Q6_K at AVX-512, so their GEMV equals their GEMM) and must equal it bit for bit.
void check_tile(const Format& f, Isa isa, DotKernel kernel, const TileShape& s, std::mt19937& rng, bool exact) {
    const size_t w_row = size_t(s.n / QK_K) * f.block_bytes;
    const size_t x_row = size_t(s.n / QK_K) * sizeof(quant::BlockQ8_K);
    const size_t w_stride = w_row + 6;  // padded, so rows start at odd-ish offsets
    const size_t x_stride = x_row + 4;
    std::vector<uint8_t> w(w_stride * size_t(s.n_rows), 0x5A);
    for (int r = 0; r < s.n_rows; ++r) {
        const auto row = random_weights(f, s.n / QK_K, rng);
        std::memcpy(&w[size_t(r) * w_stride], row.data(), w_row);
    }
    std::vector<uint8_t> x(x_stride * size_t(s.n_cols), 0xA5);
    for (int c = 0; c < s.n_cols; ++c) {
        const auto col = random_q8_k_row(s.n, rng);
        std::memcpy(&x[size_t(c) * x_stride], col.data(), x_row);
    }
    const size_t out_stride = size_t(s.n_rows) + 3;
    std::vector<float> out(out_stride * size_t(s.n_cols), NAN);
    const DotTile tile{s.n, w.data(), w_stride, s.n_rows, x.data(), x_stride, s.n_cols, out.data(), out_stride};
    kernel(tile);

    std::vector<float> wf(static_cast<size_t>(s.n)), xf(static_cast<size_t>(s.n));
    for (int r = 0; r < s.n_rows; ++r) {
        quant::dequantize_row(f.type, &w[size_t(r) * w_stride], wf.data(), s.n);
        for (int c = 0; c < s.n_cols; ++c) {
            const uint8_t* xc = &x[size_t(c) * x_stride];
            quant::dequantize_row(DType::Q8_K, xc, xf.data(), s.n);
            const float expect = f.dot_ref(s.n, &w[size_t(r) * w_stride], xc);
            const float got = out[size_t(c) * out_stride + size_t(r)];
            if (exact) {
                ASSERT_EQ(got, expect) << quant::type_name(f.type) << " isa=" << isa_name(isa) << " n=" << s.n
                                       << " rows=" << s.n_rows << " cols=" << s.n_cols << " r=" << r << " c=" << c;
                continue;
            }
            const double tol = 2e-6 * abs_dot(wf, xf) + 1e-6 * std::fabs(expect);
            ASSERT_NEAR(got, expect, tol) << quant::type_name(f.type) << " isa=" << isa_name(isa) << " n=" << s.n
                                          << " rows=" << s.n_rows << " cols=" << s.n_cols << " r=" << r << " c=" << c;
        }
    }
    // Untouched padding stays NaN: the kernel writes exactly out[c * out_stride + r] for r < n_rows.
    for (int c = 0; c < s.n_cols; ++c) {
        for (size_t r = size_t(s.n_rows); r < out_stride; ++r) ASSERT_TRUE(std::isnan(out[size_t(c) * out_stride + r]));
    }
}

TEST_P(DotKquants, KernelsEqualReference) {
    const Format& f = GetParam();
    std::mt19937 rng(99 + int(f.type));
    const TileShape shapes[] = {
        {256, 1, 1},   {256, 3, 2},   {512, 5, 3},    {768, 7, 4},   {1280, 1, 5},  {2304, 3, 6},
        {4096, 5, 7},  {256, 9, 8},   {16384, 3, 1},  {16384, 1, 8}, {3840, 7, 9},  {1024, 3, 13},
        {512, 3, 512}, {2560, 2, 17},
    };
    int n_checked = 0;
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        const DotKernel kernel = find_dot_kernel_kquants(f.type, isa);
        if (isa == Isa::Scalar) {
            ASSERT_NE(kernel, nullptr) << "every K format has a scalar kernel";
        }
        if (kernel == nullptr || !isa_runnable(isa)) continue;
        const bool exact = isa == Isa::Scalar ||
                           (isa == Isa::Avx512 && (f.type == DType::Q4_K || f.type == DType::Q6_K));
        for (const TileShape& s : shapes) check_tile(f, isa, kernel, s, rng, exact);
        ++n_checked;
    }
    EXPECT_GE(n_checked, 1);
}

TEST(DotKquantsTable, NonKFormatsHaveNoEntry) {
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        EXPECT_EQ(find_dot_kernel_kquants(DType::Q4_0, isa), nullptr);
        EXPECT_EQ(find_dot_kernel_kquants(DType::Q8_K, isa), nullptr);
        EXPECT_EQ(find_dot_kernel_kquants(DType::F32, isa), nullptr);
    }
}

INSTANTIATE_TEST_SUITE_P(Formats, DotKquants, ::testing::ValuesIn(kFormats),
                         [](const auto& info) { return std::string(quant::type_name(info.param.type)); });

}  // namespace
}  // namespace hotrod::cpu
