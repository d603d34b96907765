// matmul: both paths (GEMV for <= 8 tokens, tiled GEMM above) on 1 and 2 threads, at every ISA, equal a naive
// loop over the scalar dot references; bad shapes are rejected with an exception, not a crash.
#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/matmul.h"
#include "cpu/quantize_act.h"
#include "quant/dot_ref.h"
#include "quant/quantize.h"
#include "q32_test_data.h"

namespace hotrod::cpu {
namespace {

using quant::DType;
using RowDot = float (*)(int64_t, const void*, const void*);

RowDot ref_for(DType t) {
    switch (t) {
        case DType::Q4_0: return quant::dot_ref_q4_0;
        case DType::Q4_1: return quant::dot_ref_q4_1;
        case DType::Q5_0: return quant::dot_ref_q5_0;
        case DType::Q5_1: return quant::dot_ref_q5_1;
        case DType::Q8_0: return quant::dot_ref_q8_0;
        case DType::Q4_K: return quant::dot_ref_q4_k;
        case DType::Q6_K: return quant::dot_ref_q6_k;
        case DType::F16: return quant::dot_ref_f16;
        default: return quant::dot_ref_f32;
    }
}

// Random K-format rows: random bytes with small finite fp16 d/dmin (d at offset 0 for Q4_K, at 208 for Q6_K).
std::vector<uint8_t> random_k_rows(DType t, int64_t n, int64_t n_rows, std::mt19937& rng) {
    const size_t block = quant::type_info(t).block_bytes;
    std::vector<uint8_t> w(size_t(n_rows) * *quant::row_bytes(t, n));
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : w) b = uint8_t(byte(rng));
    std::uniform_real_distribution<float> scale(-0.01f, 0.01f);
    for (size_t b = 0; b < w.size() / block; ++b) {
        const uint16_t d = quant::fp32_to_fp16(scale(rng)), m = quant::fp32_to_fp16(scale(rng));
        const size_t d_at = t == DType::Q6_K ? 208 : 0;
        std::memcpy(&w[b * block + d_at], &d, 2);
        if (t == DType::Q4_K) std::memcpy(&w[b * block + 2], &m, 2);
    }
    return w;
}

void check(DType t, int64_t n_out, int64_t n_in, int64_t n_tokens) {
    std::mt19937 rng(uint32_t(n_out * 31 + n_tokens));
    const size_t row = *quant::row_bytes(t, n_in);
    std::vector<uint8_t> w = (t == DType::Q4_K || t == DType::Q6_K)
                                 ? random_k_rows(t, n_in, n_out, rng)
                                 : testdata::random_weight_rows(t, n_in, int(n_out), row, rng);
    const std::vector<float> x = testdata::random_floats(n_tokens * n_in, rng);

    // Naive reference: quantize each token with the reference quantizer, one dot_ref per output.
    const DType at = activation_type(t);
    const size_t arow = at == DType::F32 ? size_t(n_in) * 4 : *quant::row_bytes(at, n_in);
    std::vector<uint8_t> xq(arow * size_t(n_tokens));
    for (int64_t k = 0; k < n_tokens; ++k) {
        if (at == DType::F32) std::memcpy(&xq[size_t(k) * arow], &x[size_t(k * n_in)], arow);
        else quant::quantize_row(at, &x[size_t(k * n_in)], &xq[size_t(k) * arow], n_in);
    }
    std::vector<float> ref(size_t(n_tokens * n_out));
    for (int64_t k = 0; k < n_tokens; ++k)
        for (int64_t r = 0; r < n_out; ++r)
            ref[size_t(k * n_out + r)] = ref_for(t)(n_in, &w[size_t(r) * row], &xq[size_t(k) * arow]);

    const WeightMatrix wm = dense_weight(t, w.data(), n_out, n_in);
    Workspace ws;
    ws.reserve(n_tokens, n_in);
    for (int n_threads : {1, 2}) {
        ThreadPool pool(n_threads);
        for (int isa = 0; isa < n_supported_isas(); ++isa) {
            std::vector<float> y(ref.size(), -1.0f);
            matmul(pool, Isa(isa), wm, x.data(), n_tokens, y.data(), ws);
            for (size_t i = 0; i < y.size(); ++i) {
                // Kernels differ from the reference only in float summation order (see test_dot_q32.cpp);
                // 1e-4 relative plus a small absolute floor is far above that and far below any indexing slip.
                ASSERT_NEAR(y[i], ref[i], 1e-4 * std::fabs(ref[i]) + 1e-3)
                    << quant::type_name(t) << " " << isa_name(Isa(isa)) << " threads=" << n_threads
                    << " tokens=" << n_tokens << " i=" << i;
            }
        }
    }
}

TEST(Matmul, GemvMatchesNaiveLoop) {
    for (DType t : {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::F16, DType::F32,
                    DType::Q4_K, DType::Q6_K}) {
        for (int64_t n_tokens : {1, 3, 8}) check(t, 37, 512, n_tokens);
    }
}

TEST(Matmul, GemmMatchesNaiveLoop) {
    for (DType t : {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q8_0, DType::Q5_1, DType::F16, DType::Q4_K, DType::Q6_K}) {
        check(t, 45, 256, 9);
        check(t, 70, 512, 77);    // ragged row block (70 = 2*32 + 6) and token block (77 = 64 + 13)
        check(t, 576, 1536, 11);  // SmolLM2 down_proj: row blocks of 32 over 2 threads, columns 8 + 3
    }
}

TEST(Matmul, QuantizeOnceReuseTwice) {
    std::mt19937 rng(5);
    const int64_t n_in = 256, n_out = 16, n_tokens = 2;
    const size_t row = *quant::row_bytes(DType::Q4_0, n_in);
    const auto wa = testdata::random_weight_rows(DType::Q4_0, n_in, n_out, row, rng);
    const auto wb = testdata::random_weight_rows(DType::Q8_0, n_in, n_out, *quant::row_bytes(DType::Q8_0, n_in), rng);
    const auto x = testdata::random_floats(n_tokens * n_in, rng);
    ThreadPool pool(2);
    Workspace ws;
    ws.reserve(n_tokens, n_in);
    const Activations xq = quantize_activations(pool, detect_isa(), DType::Q8_0, x.data(), n_tokens, n_in, ws);
    std::vector<float> ya(32), yb(32), ya2(32), yb2(32);
    matmul_quantized(pool, detect_isa(), dense_weight(DType::Q4_0, wa.data(), n_out, n_in), xq, ya.data());
    matmul_quantized(pool, detect_isa(), dense_weight(DType::Q8_0, wb.data(), n_out, n_in), xq, yb.data());
    matmul(pool, detect_isa(), dense_weight(DType::Q4_0, wa.data(), n_out, n_in), x.data(), n_tokens, ya2.data(), ws);
    matmul(pool, detect_isa(), dense_weight(DType::Q8_0, wb.data(), n_out, n_in), x.data(), n_tokens, yb2.data(), ws);
    EXPECT_EQ(ya, ya2);
    EXPECT_EQ(yb, yb2);
}

TEST(Matmul, RejectsBadShapes) {
    ThreadPool pool(1);
    Workspace ws;
    ws.reserve(2, 64);
    std::vector<float> x(3 * 64), y(64);
    std::vector<uint8_t> w(4 * 36);
    EXPECT_THROW(dense_weight(DType::Q4_0, w.data(), 4, 48), std::invalid_argument);       // ragged row
    const WeightMatrix wm = dense_weight(DType::Q4_0, w.data(), 4, 64);
    EXPECT_THROW(matmul(pool, Isa::Scalar, wm, x.data(), 3, y.data(), ws), std::invalid_argument);  // too many tokens
    const Activations xf = quantize_activations(pool, Isa::Scalar, DType::F32, x.data(), 1, 64, ws);
    EXPECT_THROW(matmul_quantized(pool, Isa::Scalar, wm, xf, y.data()), std::invalid_argument);     // wrong act type
}

}  // namespace
}  // namespace hotrod::cpu
