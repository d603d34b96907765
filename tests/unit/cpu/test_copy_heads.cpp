// CpuBackend::copy_heads (the queries out of Qwen3.5's fused [q | gate] attn_q rows) against a plain loop, on
// random data at several head widths, strides and token counts, ragged ones included, and its shape checks.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "cpu/cpu_backend.h"
#include "recurrent_test_util.h"

namespace hotrod::cpu {
namespace {

using testing::random_floats;
using testing::view;

TEST(CopyHeads, MatchesPlainLoop) {
    CpuBackend be(2);
    struct Case {
        int n_tokens, n_heads, head_dim, head_stride, offset;
    };
    for (const Case k : {Case{1, 1, 8, 8, 0}, Case{3, 16, 256, 512, 0}, Case{7, 16, 256, 512, 256}, Case{5, 3, 20, 33, 0},
                         Case{13, 2, 64, 128, 64}}) {
        const int width = (k.n_heads - 1) * k.head_stride + k.head_dim + k.offset;
        std::vector<float> x = random_floats(size_t(k.n_tokens) * size_t(width), -2.0f, 2.0f, uint32_t(width));
        std::vector<float> out(size_t(k.n_tokens) * size_t(k.n_heads * k.head_dim), 0.0f);
        backend::TensorView xv = view(x, k.n_tokens, width);
        xv.data = x.data() + k.offset;  // a view starting inside the row, as the gate half of [q | gate]
        xv.n_cols = width - k.offset;
        be.copy_heads(xv, k.head_dim, k.head_stride, view(out, k.n_tokens, k.n_heads * k.head_dim));
        for (int t = 0; t < k.n_tokens; ++t)
            for (int h = 0; h < k.n_heads; ++h)
                for (int i = 0; i < k.head_dim; ++i)
                    ASSERT_EQ(out[size_t(t) * size_t(k.n_heads * k.head_dim) + size_t(h * k.head_dim + i)],
                              x[size_t(t) * size_t(width) + size_t(k.offset + h * k.head_stride + i)])
                        << "token " << t << " head " << h << " elem " << i;
    }
}

TEST(CopyHeads, BadShapesThrow) {
    CpuBackend be(1);
    std::vector<float> x(4 * 64, 1.0f), out(4 * 64, 0.0f);
    EXPECT_THROW(be.copy_heads(view(x, 4, 64), 32, 64, view(out, 4, 64)), std::invalid_argument);  // x too narrow
    EXPECT_THROW(be.copy_heads(view(x, 4, 64), 24, 32, view(out, 4, 64)), std::invalid_argument);  // 64 % 24
    EXPECT_THROW(be.copy_heads(view(x, 4, 64), 32, 16, view(out, 4, 32)), std::invalid_argument);  // stride < dim
}

}  // namespace
}  // namespace hotrod::cpu
