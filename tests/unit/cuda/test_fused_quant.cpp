// The fused ops of ops.h that quantize their own output for the next matmul (rms_norm_quant_q8_k,
// swiglu_quant_q8_k, geglu_quant_q8_k): their floats are bit-identical to the unfused kernels' (rms_norm, swiglu,
// geglu, themselves tested against the CPU references in test_ops.cpp), and their Q8_K blocks are exactly what the
// scalar reference quantize_row_q8_k_ref makes of those floats. Random rows, strides past the row, ragged row
// counts and several widths (whole super-blocks, as the fused ops require).
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda/matmul.h"
#include "cuda/ops.h"
#include "gpu_test_util.h"
#include "quant/blocks.h"
#include "quant/quantize.h"

namespace hotrod::cuda::test {
namespace {

using quant::DType;

std::vector<float> random_floats(size_t n, uint32_t seed, float scale) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}

// The Q8_K rows the reference makes of the floats' rows (stride floats apart), in q_row_bytes rows.
void expect_quantized(const std::vector<uint8_t>& q, const std::vector<float>& out, int64_t n_rows, int64_t n_cols,
                      int64_t stride, size_t q_row_bytes, const std::string& what) {
    const size_t row_bytes = size_t(n_cols / quant::QK_K) * sizeof(quant::BlockQ8_K);
    std::vector<uint8_t> ref(row_bytes);
    for (int64_t r = 0; r < n_rows; ++r) {
        quant::quantize_row_q8_k_ref(out.data() + r * stride, ref.data(), n_cols);
        EXPECT_EQ(std::memcmp(q.data() + size_t(r) * q_row_bytes, ref.data(), row_bytes), 0)
            << what << ": row " << r << " of " << n_rows << " x " << n_cols << " differs from quantize_row_q8_k_ref";
    }
}

void expect_same_bits(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
        if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            ADD_FAILURE() << what << ": element " << i << " is " << b[i] << ", the unfused kernel gives " << a[i];
            return;
        }
}

struct Shape {
    int64_t rows, cols;
};

TEST(CudaFusedQuant, RmsNormQuantIsRmsNormThenReferenceQuantization) {
    HOTROD_REQUIRE_GPU();
    for (const Shape s : {Shape{1, 768}, Shape{3, 2560}, Shape{16, 4096}, Shape{7, 1280}}) {
        ASSERT_TRUE(rms_norm_quant_fits(s.cols));
        const int64_t stride = s.cols + 12;
        const size_t q_row_bytes = Matmul::act_row_bytes(DType::Q8_K, s.cols);
        const auto xh = random_floats(size_t(s.rows * stride), uint32_t(s.cols + s.rows), 3.0f);
        const auto wh = random_floats(size_t(s.cols), 5, 1.0f);
        DeviceArray<float> x(xh), w(wh), out_a(xh), out_b(xh);
        DeviceArray<uint8_t> q(size_t(s.rows) * q_row_bytes);
        q.poison();
        rms_norm(x.get(), stride, w.get(), 1e-6f, s.rows, s.cols, out_a.get(), stride, nullptr);
        rms_norm_quant_q8_k(x.get(), stride, w.get(), 1e-6f, s.rows, s.cols, out_b.get(), stride, q.get(), q_row_bytes,
                            nullptr);
        const std::string what = "rms_norm_quant_q8_k " + std::to_string(s.rows) + "x" + std::to_string(s.cols);
        const auto b = out_b.download();
        expect_same_bits(out_a.download(), b, what);
        expect_quantized(q.download(), b, s.rows, s.cols, stride, q_row_bytes, what);
    }
    EXPECT_FALSE(rms_norm_quant_fits(512));  // warp-kernel widths are not fused
    EXPECT_FALSE(rms_norm_quant_fits(576));  // nor rows of partial super-blocks
}

TEST(CudaFusedQuant, GatedQuantIsGatedThenReferenceQuantization) {
    HOTROD_REQUIRE_GPU();
    for (const bool swi : {true, false}) {
        for (const Shape s : {Shape{1, 256}, Shape{2, 9728}, Shape{16, 1536}, Shape{5, 768}}) {
            const int64_t stride = s.cols + 4;
            const size_t q_row_bytes = Matmul::act_row_bytes(DType::Q8_K, s.cols);
            const auto gh = random_floats(size_t(s.rows * stride), 11, 4.0f);
            const auto uh = random_floats(size_t(s.rows * stride), 13, 2.0f);
            DeviceArray<float> g(gh), u(uh), out_a(gh), out_b(gh);
            DeviceArray<uint8_t> q(size_t(s.rows) * q_row_bytes);
            q.poison();
            if (swi) {
                swiglu(g.get(), stride, u.get(), stride, out_a.get(), stride, s.rows, s.cols, nullptr);
                swiglu_quant_q8_k(g.get(), stride, u.get(), stride, out_b.get(), stride, s.rows, s.cols, q.get(),
                                  q_row_bytes, nullptr);
            } else {
                geglu(g.get(), stride, u.get(), stride, out_a.get(), stride, s.rows, s.cols, nullptr);
                geglu_quant_q8_k(g.get(), stride, u.get(), stride, out_b.get(), stride, s.rows, s.cols, q.get(),
                                 q_row_bytes, nullptr);
            }
            const std::string what = std::string(swi ? "swiglu" : "geglu") + "_quant_q8_k " + std::to_string(s.rows) +
                                     "x" + std::to_string(s.cols);
            const auto b = out_b.download();
            expect_same_bits(out_a.download(), b, what);
            expect_quantized(q.download(), b, s.rows, s.cols, stride, q_row_bytes, what);
        }
    }
}

}  // namespace
}  // namespace hotrod::cuda::test
