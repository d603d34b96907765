// The many-column (prefill) kernels of Q4_K and Q6_K (gemm_kquants_avx512.cpp) against the scalar reference, bit
// for bit, over ragged tiles (rows around the 16-row groups, columns around the 8-column passes, padded strides);
// the same against the dot (GEMV) kernels; and through matmul: a token's outputs in a batch of many (GEMM path)
// equal its outputs alone (GEMV path) exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/dot_kquants.h"
#include "cpu/gemm_q32.h"
#include "cpu/matmul.h"
#include "cpu/thread_pool.h"
#include "kquants_test_data.h"

namespace hotrod::cpu {
namespace {

using namespace kquants_testdata;

const Format& format_of(DType t) {
    for (const Format& f : kFormats)
        if (f.type == t) return f;
    throw std::invalid_argument("no such K format");
}

// n_rows random weight rows of n elements at w_stride bytes, n_cols Q8_K columns at x_stride.
struct Tile {
    std::vector<uint8_t> w, x;
    size_t w_stride, x_stride;
};

Tile random_tile(const Format& f, int64_t n, int n_rows, int n_cols, size_t pad, std::mt19937& rng) {
    Tile t;
    const size_t w_row = size_t(n / QK_K) * f.block_bytes, x_row = size_t(n / QK_K) * sizeof(quant::BlockQ8_K);
    t.w_stride = w_row + pad;
    t.x_stride = x_row + pad;
    t.w.assign(t.w_stride * size_t(n_rows), 0x5A);
    t.x.assign(t.x_stride * size_t(n_cols), 0xA5);
    for (int r = 0; r < n_rows; ++r) {
        const auto row = random_weights(f, n / QK_K, rng);
        std::memcpy(&t.w[size_t(r) * t.w_stride], row.data(), w_row);
    }
    for (int c = 0; c < n_cols; ++c) {
        const auto col = random_q8_k_row(n, rng);
        std::memcpy(&t.x[size_t(c) * t.x_stride], col.data(), x_row);
    }
    return t;
}

// The reference reads its blocks as structs, so it gets copies at their natural alignment (the kernels under test
// read the odd offsets of the padded tile itself).
float aligned_dot_ref(const Format& f, int64_t n, const uint8_t* w, const uint8_t* x) {
    const size_t n_blocks = size_t(n / quant::QK_K);
    std::vector<uint64_t> wa((n_blocks * f.block_bytes + 7) / 8), xa((n_blocks * sizeof(quant::BlockQ8_K) + 7) / 8);
    std::memcpy(wa.data(), w, n_blocks * f.block_bytes);
    std::memcpy(xa.data(), x, n_blocks * sizeof(quant::BlockQ8_K));
    return f.dot_ref(n, wa.data(), xa.data());
}

class GemmKquants : public ::testing::TestWithParam<DType> {
protected:
    // The AVX-512 GEMM of the format, or nullptr when this CPU cannot run it (then the test skips).
    static DotKernel gemm_kernel(DType t) {
        return isa_runnable(Isa::Avx512) ? find_gemm_kernel(t, Isa::Avx512) : nullptr;
    }
};

// Rows 1, 5, 15, 16, 17, 33, 64 (around the 16-row groups), columns 1, 3, 8, 9, 17, 70 (around the 8-column
// passes), 1 to 12 super-blocks; strides padded by an odd byte count so blocks sit at odd offsets.
TEST_P(GemmKquants, EqualsReferenceBitForBit) {
    const Format& f = format_of(GetParam());
    const DotKernel gemm = gemm_kernel(f.type);
    if (!gemm) GTEST_SKIP() << "no AVX-512 VNNI";
    std::mt19937 rng(17 + int(f.type));
    int n_checked = 0;
    for (int64_t n : {256, 768, 3072}) {
        for (int n_rows : {1, 5, 15, 16, 17, 33, 64}) {
            for (int n_cols : {1, 3, 8, 9, 17, 70}) {
                if (n * n_rows * n_cols > 3072 * 33 * 17) continue;
                const Tile t = random_tile(f, n, n_rows, n_cols, 7, rng);
                const size_t out_stride = size_t(n_rows) + 3;
                std::vector<float> out(out_stride * size_t(n_cols), NAN);
                gemm({n, t.w.data(), t.w_stride, n_rows, t.x.data(), t.x_stride, n_cols, out.data(), out_stride});
                for (int c = 0; c < n_cols; ++c) {
                    for (int r = 0; r < n_rows; ++r) {
                        const float expect = aligned_dot_ref(f, n, &t.w[size_t(r) * t.w_stride], &t.x[size_t(c) * t.x_stride]);
                        ASSERT_EQ(out[size_t(c) * out_stride + size_t(r)], expect)
                            << quant::type_name(f.type) << " n=" << n << " rows=" << n_rows << " cols=" << n_cols
                            << " r=" << r << " c=" << c;
                    }
                    // The padding between columns stays untouched: the kernel writes rows < n_rows only.
                    for (size_t r = size_t(n_rows); r < out_stride; ++r) ASSERT_TRUE(std::isnan(out[size_t(c) * out_stride + r]));
                }
                ++n_checked;
            }
        }
    }
    EXPECT_GT(n_checked, 50);
}

// ... and the dot kernel of the same ISA (the GEMV path) gives the same bits on the same tile.
TEST_P(GemmKquants, EqualsDotKernelBitForBit) {
    const Format& f = format_of(GetParam());
    const DotKernel gemm = gemm_kernel(f.type);
    if (!gemm) GTEST_SKIP() << "no AVX-512 VNNI";
    const DotKernel dot = find_dot_kernel_kquants(f.type, Isa::Avx512);
    std::mt19937 rng(23);
    struct Shape { int64_t n; int n_rows, n_cols; };
    for (const Shape s : {Shape{1024, 64, 21}, Shape{3072, 13, 9}, Shape{256, 47, 70}}) {
        const Tile t = random_tile(f, s.n, s.n_rows, s.n_cols, 0, rng);
        std::vector<float> a(size_t(s.n_rows) * size_t(s.n_cols)), b(a.size());
        gemm({s.n, t.w.data(), t.w_stride, s.n_rows, t.x.data(), t.x_stride, s.n_cols, a.data(), size_t(s.n_rows)});
        dot({s.n, t.w.data(), t.w_stride, s.n_rows, t.x.data(), t.x_stride, s.n_cols, b.data(), size_t(s.n_rows)});
        for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "n=" << s.n << " i=" << i;
    }
}

// Through matmul at the machine's ISA: tokens 1..N batched (N > kMaxGemvTokens takes the GEMM path) give each
// token the outputs it gets alone (GEMV path), bit for bit; 2 threads, a ragged row count.
TEST_P(GemmKquants, BatchedEqualsAlone) {
    const Format& f = format_of(GetParam());
    std::mt19937 rng(5);
    const int64_t n_out = 83, n_in = 1024;
    const auto w = random_weights(f, n_out * n_in / QK_K, rng);
    const WeightMatrix wm = dense_weight(f.type, w.data(), n_out, n_in);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    ThreadPool pool(2);
    for (int64_t n_tokens : {9, 33, 77}) {
        std::vector<float> x(size_t(n_tokens * n_in));
        for (auto& v : x) v = normal(rng);
        Workspace ws;
        ws.reserve(n_tokens, n_in);
        std::vector<float> batched(size_t(n_tokens * n_out)), alone(static_cast<size_t>(n_out));
        matmul(pool, detect_isa(), wm, x.data(), n_tokens, batched.data(), ws);
        for (int64_t k = 0; k < n_tokens; ++k) {
            matmul(pool, detect_isa(), wm, x.data() + k * n_in, 1, alone.data(), ws);
            for (int64_t r = 0; r < n_out; ++r)
                ASSERT_EQ(batched[size_t(k * n_out + r)], alone[size_t(r)]) << "tokens=" << n_tokens << " k=" << k << " r=" << r;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Formats, GemmKquants, ::testing::Values(DType::Q4_K, DType::Q6_K),
                         [](const auto& info) { return std::string(quant::type_name(info.param)); });

}  // namespace
}  // namespace hotrod::cpu
