// Dot kernels of the 32-element formats (Q4_0, Q5_0, Q8_0 x Q8_0; Q4_1, Q5_1 x Q8_1) and float formats (F32, F16, BF16
// x F32): the scalar references against dequantize-then-dot in double, and every SIMD kernel this CPU can run
// against the scalar reference on random data over ragged tiles (odd row counts, 1..8 and 512 columns, one block
// to 16k elements, padded strides).
#include <gtest/gtest.h>

#include <string>

#include "cpu/cpu_features.h"
#include "cpu/dot.h"
#include "cpu/gemm_q32.h"
#include "quant/dot_ref.h"
#include "quant/quantize.h"
#include "q32_test_data.h"

namespace hotrod::cpu {
namespace {

using quant::DType;
using namespace testdata;

struct Format {
    DType type;
    float (*dot_ref)(int64_t, const void*, const void*);
};

const Format kFormats[] = {
    {DType::Q4_0, quant::dot_ref_q4_0}, {DType::Q4_1, quant::dot_ref_q4_1}, {DType::Q5_0, quant::dot_ref_q5_0},
    {DType::Q5_1, quant::dot_ref_q5_1}, {DType::Q8_0, quant::dot_ref_q8_0}, {DType::F32, quant::dot_ref_f32},
    {DType::F16, quant::dot_ref_f16},   {DType::BF16, quant::dot_ref_bf16},
};

// Activation rows in the format's activation type, column c at c * stride; also returns their float values.
struct ActRows {
    std::vector<uint8_t> bytes;
    std::vector<std::vector<float>> values;  // what the kernel sees, as floats
    std::vector<std::vector<double>> s_err;  // Q8_1: per block, stored s minus d * sum(q) (its fp16 rounding)
};
ActRows random_act_rows(DType weight, int64_t n, int n_cols, size_t stride, std::mt19937& rng) {
    ActRows a;
    a.bytes.assign(stride * size_t(n_cols) + 64, 0xcd);
    for (int c = 0; c < n_cols; ++c) {
        const std::vector<float> x = random_floats(n, rng);
        uint8_t* dst = a.bytes.data() + size_t(c) * stride;
        if (is_float_type(weight)) {
            std::memcpy(dst, x.data(), size_t(n) * 4);
            a.values.push_back(x);
        } else if (activation_type(weight) == DType::Q8_1) {
            quant::quantize_row_q8_1_ref(x.data(), dst, n);
            std::vector<float> v(static_cast<size_t>(n));
            std::vector<double> err;
            for (int64_t b = 0; b < n / quant::QK; ++b) {
                quant::BlockQ8_1 blk;
                std::memcpy(&blk, dst + size_t(b) * sizeof blk, sizeof blk);
                double sum_q = 0;
                for (int j = 0; j < quant::QK; ++j) {
                    v[size_t(b * quant::QK + j)] = blk.d * float(blk.qs[j]);
                    sum_q += blk.qs[j];
                }
                err.push_back(double(blk.s) - double(blk.d) * sum_q);
            }
            a.values.push_back(v);
            a.s_err.push_back(err);
        } else {
            quant::quantize_row_q8_0_ref(x.data(), dst, n);
            a.values.push_back(dequantized(DType::Q8_0, dst, n));
        }
    }
    return a;
}

size_t act_row_bytes(DType weight, int64_t n) {
    return is_float_type(weight) ? size_t(n) * 4 : *quant::row_bytes(activation_type(weight), n);
}

// Q8_1 activations: sum over blocks of the weight's min times the stored s's rounding error (s is fp16-rounded
// by design, so the exact dot of the dequantized values is off by this much, not by float error).
double s_rounding_term(DType t, const uint8_t* w_row, const ActRows& x, int c) {
    if (x.s_err.empty()) return 0.0;
    const size_t block_bytes = quant::type_info(t).block_bytes;
    double s = 0.0;
    for (size_t b = 0; b < x.s_err[size_t(c)].size(); ++b) {
        uint16_t h;
        std::memcpy(&h, w_row + b * block_bytes + 2, 2);  // m of Q4_1 / Q5_1
        s += double(quant::fp16_to_fp32(h)) * x.s_err[size_t(c)][b];
    }
    return s;
}

// Float error bound of a dot that adds n_terms rounded products: each term and each partial sum is off by at
// most u relative, so |error| <= (n_terms + 3) * u * sum|terms| (products of three factors round twice more).
double dot_bound(int64_t n_terms, double abs_sum) { return double(n_terms + 3) * kFloatU * abs_sum + 1e-30; }
int64_t n_terms(DType t, int64_t n) { return is_float_type(t) ? n : n / quant::QK; }

std::string name_of(const ::testing::TestParamInfo<Format>& info) {
    return std::string(quant::type_name(info.param.type));
}

class DotQ32 : public ::testing::TestWithParam<Format> {};

// The reference equals a double-precision dot of the dequantized weights and activations within its own float
// rounding bound (dot_bound); the integer sums inside a block are exact.
TEST_P(DotQ32, ReferenceMatchesDequantizedDot) {
    const Format f = GetParam();
    std::mt19937 rng(1234);
    for (int64_t n : {32, 64, 96, 320, 4096, 16384}) {
        const size_t wbytes = *quant::row_bytes(f.type, n);
        const auto w = random_weight_rows(f.type, n, 1, wbytes, rng);
        const auto x = random_act_rows(f.type, n, 1, act_row_bytes(f.type, n), rng);
        const std::vector<float> wf = dequantized(f.type, w.data(), n);
        double exact = 0.0;
        for (int64_t i = 0; i < n; ++i) exact += double(wf[size_t(i)]) * double(x.values[0][size_t(i)]);
        exact += s_rounding_term(f.type, w.data(), x, 0);
        const double got = f.dot_ref(n, w.data(), x.bytes.data());
        const double scale = abs_terms(f.type, w.data(), wf, x.values[0]);
        EXPECT_NEAR(got, exact, dot_bound(n_terms(f.type, n), scale)) << "n=" << n;
        EXPECT_NE(got, 0.0);
    }
}

struct Shape {
    int64_t n;
    int n_rows;
    int n_cols;
};

// Runs `kernel` over each shape on random data (padded strides) and checks every output against the scalar
// reference within the sum of both float bounds (the integer parts are exact; only the order and fusing of the
// float sums differ), and that the padding between output columns is untouched.
void expect_matches_reference(const Format& f, DotKernel kernel, const std::string& what,
                              const std::vector<Shape>& shapes, std::mt19937& rng) {
    for (const Shape& s : shapes) {
        const size_t w_stride = *quant::row_bytes(f.type, s.n) + 6;  // padded; stays 2-byte aligned
        const size_t x_stride = act_row_bytes(f.type, s.n) + 4;
        const auto w = random_weight_rows(f.type, s.n, s.n_rows, w_stride, rng);
        const auto x = random_act_rows(f.type, s.n, s.n_cols, x_stride, rng);
        const size_t out_stride = size_t(s.n_rows) + 3;
        std::vector<float> out(out_stride * size_t(s.n_cols), -7.0f);
        kernel({s.n, w.data(), w_stride, s.n_rows, x.bytes.data(), x_stride, s.n_cols, out.data(), out_stride});
        for (int r = 0; r < s.n_rows; ++r) {
            const uint8_t* wr = w.data() + size_t(r) * w_stride;
            const std::vector<float> wf = dequantized(f.type, wr, s.n);
            for (int c = 0; c < s.n_cols; ++c) {
                const float ref = f.dot_ref(s.n, wr, x.bytes.data() + size_t(c) * x_stride);
                const double bound = 2 * dot_bound(n_terms(f.type, s.n), abs_terms(f.type, wr, wf, x.values[size_t(c)]));
                ASSERT_NEAR(out[size_t(c) * out_stride + size_t(r)], ref, bound)
                    << what << " n=" << s.n << " rows=" << s.n_rows << " cols=" << s.n_cols << " r=" << r << " c=" << c;
            }
        }
        for (int c = 0; c < s.n_cols; ++c) {
            for (size_t p = size_t(s.n_rows); p < out_stride; ++p) ASSERT_EQ(out[size_t(c) * out_stride + p], -7.0f);
        }
    }
}

// Every SIMD dot kernel against the scalar reference over ragged tiles.
TEST_P(DotQ32, SimdMatchesReference) {
    const Format f = GetParam();
    std::mt19937 rng(99);
    std::vector<Shape> shapes;
    for (int64_t n : {32, 96, 160, 1024, 16384}) {
        for (int n_cols = 1; n_cols <= 8; ++n_cols) shapes.push_back({n, n == 16384 ? 3 : 7, n_cols});
    }
    shapes.push_back({64, 5, 512});
    shapes.push_back({2048, 3, 13});
    if (is_float_type(f.type)) {  // float rows need not be whole blocks: ragged tails of the vector loops
        for (int64_t n : {1, 7, 15, 17, 33, 1001}) shapes.push_back({n, 3, 5});
    }
    for (int isa = 0; isa < n_supported_isas(); ++isa) {
        const DotKernel kernel = find_dot_kernel(f.type, Isa(isa));
        if (!kernel) continue;  // e.g. AVX-512 without VNNI: the table falls back
        expect_matches_reference(f, kernel, std::string(isa_name(Isa(isa))), shapes, rng);
    }
}

// The many-column (prefill) kernels against the scalar reference: row counts around the 8-row groups (1, 7, 8,
// 9, 33, 64), column counts around the 8-column passes (1..17, 70), one block to 4096 elements.
TEST_P(DotQ32, GemmMatchesReference) {
    const Format f = GetParam();
    std::mt19937 rng(7);
    std::vector<Shape> shapes;
    for (int64_t n : {32, 160, 640, 4096}) {
        for (int n_rows : {1, 7, 8, 9, 33, 64}) {
            for (int n_cols : {1, 5, 8, 9, 17, 70}) {
                if (n * n_rows * n_cols <= 4096 * 64 * 17) shapes.push_back({n, n_rows, n_cols});
            }
        }
    }
    for (int isa = 0; isa < n_supported_isas(); ++isa) {
        const DotKernel kernel = find_gemm_kernel(f.type, Isa(isa));
        if (!kernel) continue;  // only AVX-512 VNNI has them, and only for the quantized formats
        expect_matches_reference(f, kernel, "gemm " + std::string(isa_name(Isa(isa))), shapes, rng);
    }
}

// ... and bit for bit what the dot kernel of the same ISA gives, so a sequence's logits do not depend on
// whether its tokens were batched with others (GEMM) or not (GEMV).
TEST_P(DotQ32, GemmEqualsDotKernelBitForBit) {
    const Format f = GetParam();
    std::mt19937 rng(11);
    for (int isa = 0; isa < n_supported_isas(); ++isa) {
        const DotKernel gemm = find_gemm_kernel(f.type, Isa(isa));
        if (!gemm) continue;
        const DotKernel dot = find_dot_kernel(f.type, Isa(isa));
        for (const Shape& s : {Shape{32, 9, 3}, Shape{640, 64, 21}, Shape{2048, 13, 70}}) {
            const size_t w_stride = *quant::row_bytes(f.type, s.n), x_stride = act_row_bytes(f.type, s.n);
            const auto w = random_weight_rows(f.type, s.n, s.n_rows, w_stride, rng);
            const auto x = random_act_rows(f.type, s.n, s.n_cols, x_stride, rng);
            std::vector<float> a(size_t(s.n_rows) * size_t(s.n_cols)), b(a.size());
            gemm({s.n, w.data(), w_stride, s.n_rows, x.bytes.data(), x_stride, s.n_cols, a.data(), size_t(s.n_rows)});
            dot({s.n, w.data(), w_stride, s.n_rows, x.bytes.data(), x_stride, s.n_cols, b.data(), size_t(s.n_rows)});
            for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "n=" << s.n << " i=" << i;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Formats, DotQ32, ::testing::ValuesIn(kFormats), name_of);

TEST(DotTable, ActivationTypes) {
    EXPECT_EQ(activation_type(DType::Q4_0), DType::Q8_0);
    EXPECT_EQ(activation_type(DType::Q8_0), DType::Q8_0);
    EXPECT_EQ(activation_type(DType::Q4_1), DType::Q8_1);
    EXPECT_EQ(activation_type(DType::Q5_1), DType::Q8_1);
    EXPECT_EQ(activation_type(DType::Q4_K), DType::Q8_K);
    EXPECT_EQ(activation_type(DType::F16), DType::F32);
    EXPECT_EQ(activation_type(DType::BF16), DType::F32);
}

TEST(DotTable, EveryReferenceTypeHasAKernelAtEveryIsa) {
    for (DType t : {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::F32, DType::F16,
                    DType::BF16, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
        EXPECT_NE(find_dot_kernel(t, Isa::Scalar), nullptr) << quant::type_name(t);
        for (int isa = 0; isa < kIsaCount; ++isa) EXPECT_NE(best_dot_kernel(t, Isa(isa)), nullptr);
    }
    EXPECT_EQ(best_dot_kernel(DType::IQ2_XS, Isa::Avx2), nullptr);
}

}  // namespace
}  // namespace hotrod::cpu
