// The causal conv1d with state, and the small gated-delta-net pieces (gated RMSNorm, sigmoid gate, delta gates),
// through CpuBackend: against the scalar reference (conv) or the formulas in double, on random data at ragged
// sizes; a sequence's output the same bits batched or alone and whole or in pieces; bad layouts rejected.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/ops_conv.h"
#include "recurrent_test_util.h"

namespace hotrod::cpu {
namespace {

using testing::random_floats;
using testing::SeqSpec;
using testing::TestBatch;
using testing::view;

// Runs the backend's conv over a batch; state has n_slots slots.
std::vector<float> conv_backend(CpuBackend& be, const TestBatch& b, std::vector<float> x, std::vector<float> w,
                                std::vector<float>& state, int64_t C, int K, bool silu, bool in_place) {
    std::vector<float> out(x.size(), -7.0f);
    const int64_t n_slots = int64_t(state.size()) / ((K - 1) * C);
    be.conv1d_causal(view(x, b.n_tokens, C), view(w, C, K), view(state, n_slots, (K - 1) * C), b.layout(), silu,
                     in_place ? view(x, b.n_tokens, C) : view(out, b.n_tokens, C));
    return in_place ? x : out;
}

TEST(OpsConv, MatchesRefAtRaggedSizes) {
    CpuBackend be(3);
    const std::vector<SeqSpec> seqs = {{5, 0, 2}, {1, 9, 0}, {2, 4, 3}, {17, 30, 1}};
    const TestBatch b(seqs);
    for (int K : {2, 3, 4}) {
        for (int64_t C : {1, 7, 64, 100, 200}) {
            for (bool silu : {false, true}) {
                const auto x = random_floats(size_t(b.n_tokens * C), -2, 2, uint32_t(C * 10 + K));
                const auto w = random_floats(size_t(C * K), -1, 1, uint32_t(C + K));
                const auto state0 = random_floats(size_t(4 * (K - 1) * C), -2, 2, uint32_t(C * 3 + K));
                std::vector<float> ref_state = state0, ref_out(x.size());
                ConvJob job{x.data(), size_t(C), w.data(), ref_state.data(), size_t((K - 1) * C), ref_out.data(),
                            size_t(C), C, K, silu};
                conv1d_causal_ref(job, b.seq_first.data(), b.slots.data(), b.fresh_flags(), b.n_seqs());
                for (bool in_place : {false, true}) {
                    std::vector<float> state = state0;
                    const auto out = conv_backend(be, b, x, w, state, C, K, silu, in_place);
                    // Same taps summed in the same order, oldest first: equal but for FMA contraction, which the
                    // baseline build does not do; 1e-6 relative allows it should a compiler flag change that.
                    for (size_t i = 0; i < out.size(); ++i) {
                        ASSERT_NEAR(out[i], ref_out[i], 1e-6 * std::fabs(ref_out[i]) + 1e-7)
                            << "K=" << K << " C=" << C << " silu=" << silu << " in_place=" << in_place << " i=" << i;
                    }
                    EXPECT_EQ(state, ref_state) << "K=" << K << " C=" << C;
                }
            }
        }
    }
}

TEST(OpsConv, RefMatchesFormula) {
    // One sequence of 3 tokens, kernel 3, 2 channels, a known state: out[t] = sum_i w[i] * input[t - 2 + i].
    std::vector<float> x = {1, 10, 2, 20, 3, 30}, w = {0.5f, 0.25f, 2.0f, -1.0f, 1.0f, 3.0f};
    std::vector<float> state = {-1, -10, -2, -20}, out(6);
    const TestBatch b({{3, 5, 0}});
    ConvJob job{x.data(), 2, w.data(), state.data(), 4, out.data(), 2, 2, 3, false};
    conv1d_causal_ref(job, b.seq_first.data(), b.slots.data(), b.fresh_flags(), 1);
    EXPECT_FLOAT_EQ(out[0], 0.5f * -1 + 0.25f * -2 + 2.0f * 1);
    EXPECT_FLOAT_EQ(out[1], -1.0f * -10 + 1.0f * -20 + 3.0f * 10);
    EXPECT_FLOAT_EQ(out[2], 0.5f * -2 + 0.25f * 1 + 2.0f * 2);
    EXPECT_FLOAT_EQ(out[4], 0.5f * 1 + 0.25f * 2 + 2.0f * 3);
    EXPECT_EQ(state, (std::vector<float>{2, 20, 3, 30}));
}

TEST(OpsConv, BatchedEqualsAloneAndPiecesEqualWhole) {
    CpuBackend be(4);
    const int64_t C = 150;
    const int K = 4;
    const auto w = random_floats(size_t(C * K), -1, 1, 5);
    const auto xa = random_floats(size_t(40 * C), -2, 2, 6), xb = random_floats(size_t(1 * C), -2, 2, 7);
    const auto state0 = random_floats(size_t(2 * (K - 1) * C), -2, 2, 8);
    // Alone: a (40 tokens from position 0, slot 1), b (one decode token at position 12, slot 0).
    std::vector<float> st_a = state0, st_b = state0;
    const auto out_a = conv_backend(be, TestBatch({{40, 0, 1}}), xa, w, st_a, C, K, true, false);
    const auto out_b = conv_backend(be, TestBatch({{1, 12, 0}}), xb, w, st_b, C, K, true, false);
    // Batched: b first, then a.
    std::vector<float> x(xb);
    x.insert(x.end(), xa.begin(), xa.end());
    std::vector<float> st = state0;
    const auto out = conv_backend(be, TestBatch({{1, 12, 0}, {40, 0, 1}}), x, w, st, C, K, true, false);
    EXPECT_EQ(std::vector<float>(out.begin(), out.begin() + C), out_b);
    EXPECT_EQ(std::vector<float>(out.begin() + C, out.end()), out_a);
    EXPECT_EQ(std::vector<float>(st.begin(), st.begin() + (K - 1) * C), std::vector<float>(st_b.begin(), st_b.begin() + (K - 1) * C));
    EXPECT_EQ(std::vector<float>(st.begin() + (K - 1) * C, st.end()), std::vector<float>(st_a.begin() + (K - 1) * C, st_a.end()));
    // Pieces: a's 40 tokens as 2 + 1 + 37, the state carried between calls.
    std::vector<float> st_p = state0, pieces;
    int done = 0;
    for (int len : {2, 1, 37}) {
        std::vector<float> xp(xa.begin() + done * C, xa.begin() + (done + len) * C);
        const auto o = conv_backend(be, TestBatch({{len, done, 1}}), xp, w, st_p, C, K, true, false);
        pieces.insert(pieces.end(), o.begin(), o.end());
        done += len;
    }
    EXPECT_EQ(pieces, out_a);
    EXPECT_EQ(st_p, st_a);
}

TEST(OpsConv, RejectsBadLayouts) {
    CpuBackend be(1);
    const int64_t C = 8;
    std::vector<float> x(3 * C, 1.0f), w(4 * C, 1.0f), state(2 * 3 * C, 0.0f), out(3 * C);
    auto run = [&](std::vector<int32_t> pos, std::vector<int32_t> seq, std::vector<int32_t> slots) {
        be.conv1d_causal(view(x, 3, C), view(w, C, 4), view(state, 2, 3 * C), {pos, seq, slots, {}}, false,
                         view(out, 3, C));
    };
    EXPECT_NO_THROW(run({0, 1, 5}, {0, 0, 1}, {0, 1}));
    EXPECT_THROW(run({0, 2, 5}, {0, 0, 1}, {0, 1}), std::invalid_argument);  // a gap in positions
    EXPECT_THROW(run({0, 5, 1}, {0, 1, 0}, {0, 1}), std::invalid_argument);  // a sequence in two pieces
    EXPECT_THROW(run({0, 1, 5}, {0, 0, 1}, {1, 1}), std::invalid_argument);  // a shared slot
    EXPECT_THROW(run({0, 1, 5}, {0, 0, 1}, {0, 2}), std::invalid_argument);  // a slot out of range
    EXPECT_THROW(run({0, 1, 5}, {0, 0, 1}, {0}), std::invalid_argument);     // a slot missing
}

// out must be x row for row, or disjoint from it: the kernel reads a token's x before writing its out, so out one
// row behind x (or x read at another stride) would overwrite inputs not yet read.
TEST(OpsConv, RejectsOutOverlappingX) {
    CpuBackend be(1);
    const int64_t C = 8;
    std::vector<float> buf(4 * C, 1.0f), w(4 * C, 1.0f), state(3 * C, 0.0f);
    const std::vector<int32_t> pos = {0, 1, 2}, seq = {0, 0, 0}, slots = {0};
    auto run = [&](backend::TensorView x, backend::TensorView out) {
        be.conv1d_causal(x, view(w, C, 4), view(state, 1, 3 * C), {pos, seq, slots, {}}, false, out);
    };
    backend::TensorView x = view(buf, 3, C), shifted = x;
    shifted.data = buf.data() + C;  // out one row behind x
    EXPECT_NO_THROW(run(x, x));
    EXPECT_THROW(run(x, shifted), std::invalid_argument);
    backend::TensorView wide = x;  // the same start, another stride
    wide.n_rows = 2;
    wide.row_bytes = size_t(2 * C) * sizeof(float);
    backend::TensorView narrow = x;
    narrow.n_rows = 2;
    const std::vector<int32_t> pos2 = {0, 1}, seq2 = {0, 0};
    EXPECT_THROW(be.conv1d_causal(wide, view(w, C, 4), view(state, 1, 3 * C), {pos2, seq2, slots, {}}, false, narrow),
                 std::invalid_argument);
}

double silu_d(double z) { return z / (1.0 + std::exp(-z)); }
double sigmoid_d(double z) { return 1.0 / (1.0 + std::exp(-z)); }

TEST(OpsGate, RmsNormGatedMatchesFormula) {
    CpuBackend be(2);
    for (int head_dim : {1, 7, 128}) {
        for (int64_t n_tokens : {1, 3, 70}) {
            const int64_t n_heads = 5, W = n_heads * head_dim;
            auto x = random_floats(size_t(n_tokens * W), -3, 3, uint32_t(head_dim + n_tokens));
            auto z = random_floats(size_t(n_tokens * W), -6, 6, uint32_t(head_dim * 2 + n_tokens));
            auto w = random_floats(size_t(head_dim), 0.5f, 1.5f, 3);
            std::vector<float> out(x.size());
            be.rms_norm_gated(view(x, n_tokens, W), view(w, 1, head_dim), view(z, n_tokens, W), head_dim, 1e-6f,
                              view(out, n_tokens, W));
            for (int64_t t = 0; t < n_tokens; ++t) {
                for (int64_t h = 0; h < n_heads; ++h) {
                    const float* xh = x.data() + t * W + h * head_dim;
                    double ss = 0;
                    for (int i = 0; i < head_dim; ++i) ss += double(xh[i]) * xh[i];
                    const double inv = 1.0 / std::sqrt(ss / head_dim + 1e-6);
                    for (int i = 0; i < head_dim; ++i) {
                        const size_t e = size_t(t * W + h * head_dim + i);
                        const double want = xh[i] * inv * w[size_t(i)] * silu_d(z[e]);
                        // Float products and exp: a few ulps of each factor, 2e-6 relative covers them.
                        ASSERT_NEAR(out[e], want, 2e-6 * std::fabs(want) + 1e-7) << head_dim << " " << t << " " << h;
                    }
                }
            }
            // In place over z (out aliasing an input) gives the same bits.
            be.rms_norm_gated(view(x, n_tokens, W), view(w, 1, head_dim), view(z, n_tokens, W), head_dim, 1e-6f,
                              view(z, n_tokens, W));
            EXPECT_EQ(z, out);
        }
    }
}

TEST(OpsGate, SigmoidGateReadsInterleavedHeads) {
    CpuBackend be(2);
    const int head_dim = 6, n_heads = 3;
    for (int64_t n_tokens : {1, 9}) {
        // A fused [q | gate] row per head, as Qwen3.5's attention Q projection writes it.
        auto qg = random_floats(size_t(n_tokens * n_heads * 2 * head_dim), -8, 8, uint32_t(n_tokens));
        auto x = random_floats(size_t(n_tokens * n_heads * head_dim), -2, 2, 11);
        const auto x0 = x;
        backend::TensorView gate{quant::DType::F32, qg.data() + head_dim, n_tokens, (n_heads - 1) * 2 * head_dim + head_dim,
                                 size_t(2 * n_heads * head_dim) * sizeof(float)};
        be.sigmoid_gate(view(x, n_tokens, n_heads * head_dim), gate, head_dim, 2 * head_dim);
        for (int64_t t = 0; t < n_tokens; ++t)
            for (int h = 0; h < n_heads; ++h)
                for (int i = 0; i < head_dim; ++i) {
                    const size_t e = size_t(t * n_heads * head_dim + h * head_dim + i);
                    const double want = x0[e] * sigmoid_d(qg[size_t(t * 2 * n_heads * head_dim + h * 2 * head_dim + head_dim + i)]);
                    ASSERT_NEAR(x[e], want, 1e-6 * std::fabs(want) + 1e-8);
                }
    }
}

TEST(OpsGate, DeltaGatesMatchFormula) {
    CpuBackend be(2);
    const int64_t n_heads = 32;
    for (int64_t n_tokens : {1, 5, 300}) {
        auto alpha = random_floats(size_t(n_tokens * n_heads), -30, 30, uint32_t(n_tokens));
        auto b = random_floats(size_t(n_tokens * n_heads), -10, 10, uint32_t(n_tokens + 1));
        auto a_neg = random_floats(size_t(n_heads), -8, -0.01f, 2), dt_bias = random_floats(size_t(n_heads), -2, 2, 3);
        std::vector<float> g(alpha.size()), beta(b.size());
        be.delta_gates(view(alpha, n_tokens, n_heads), view(b, n_tokens, n_heads), view(a_neg, 1, n_heads),
                       view(dt_bias, 1, n_heads), view(g, n_tokens, n_heads), view(beta, n_tokens, n_heads));
        for (int64_t t = 0; t < n_tokens; ++t)
            for (int64_t h = 0; h < n_heads; ++h) {
                const size_t e = size_t(t * n_heads + h);
                const double a = double(alpha[e]) + dt_bias[size_t(h)];
                const double want_g = a_neg[size_t(h)] * std::log1p(std::exp(a));
                // Above 20 softplus is taken as a (the exp term is < 2.1e-9 of it); float rounding ~1e-7 elsewhere.
                ASSERT_NEAR(g[e], want_g, 1e-6 * std::fabs(want_g) + 1e-9) << "a=" << a;
                ASSERT_NEAR(beta[e], sigmoid_d(b[e]), 1e-6 * sigmoid_d(b[e]) + 1e-9);
            }
        // In place: g over alpha, beta over b.
        be.delta_gates(view(alpha, n_tokens, n_heads), view(b, n_tokens, n_heads), view(a_neg, 1, n_heads),
                       view(dt_bias, 1, n_heads), view(alpha, n_tokens, n_heads), view(b, n_tokens, n_heads));
        EXPECT_EQ(alpha, g);
        EXPECT_EQ(b, beta);
    }
}

}  // namespace
}  // namespace hotrod::cpu
