// The gated delta rule through CpuBackend, both forms: each against the double reference on random data (the
// lengths around a chunk, 1 / 63 / 64 / 65 / 200 tokens, starting fresh or from a random state at a position
// that is not a chunk boundary, several head layouts), the chunked form against the recurrent one, and a
// sequence's bits the same batched or alone and whole or in pieces where the form allows.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/ops_delta_rule.h"
#include "recurrent_test_util.h"

namespace hotrod::cpu {
namespace {

using backend::DeltaRuleForm;
using testing::max_rel_error;
using testing::random_floats;
using testing::SeqSpec;
using testing::TestBatch;
using testing::view;

// The inputs of one call: n_tokens rows of q, k, v, g, beta laid out as one row per token, as Qwen3.5's conv
// output holds q | k | v side by side (so q, k and v are column views with a row stride wider than their width).
struct Inputs {
    int n_tokens, n_k_heads, n_v_heads, d;
    std::vector<float> qkv, g, beta;
    int64_t qkv_width() const { return int64_t(2 * n_k_heads + n_v_heads) * d; }

    Inputs(int n, int nk, int nv, int d_, uint32_t seed) : n_tokens(n), n_k_heads(nk), n_v_heads(nv), d(d_) {
        qkv = random_floats(size_t(n * qkv_width()), -1, 1, seed);
        // Log decays as Qwen3.5 makes them (a_neg * softplus: most in [-2, 0)), a few very strong (-60: exp
        // underflows towards 0, the state forgotten) to check nothing divides by a vanished decay.
        g = random_floats(size_t(n * nv), -2.0f, -0.001f, seed + 1);
        for (size_t i = 7; i < g.size(); i += 97) g[i] = -60.0f;
        beta = random_floats(size_t(n * nv), 0.0f, 1.0f, seed + 2);
    }
    backend::TensorView col(int64_t first, int64_t width) {
        return {quant::DType::F32, qkv.data() + first, n_tokens, width, size_t(qkv_width()) * sizeof(float)};
    }
    backend::TensorView q() { return col(0, int64_t(n_k_heads) * d); }
    backend::TensorView k() { return col(int64_t(n_k_heads) * d, int64_t(n_k_heads) * d); }
    backend::TensorView v() { return col(int64_t(2 * n_k_heads) * d, int64_t(n_v_heads) * d); }
    DeltaRuleJob job(float* out, float scale, bool l2) const {
        DeltaRuleJob j;
        const size_t w = size_t(qkv_width());
        j.q = qkv.data(), j.q_stride = w;
        j.k = qkv.data() + size_t(n_k_heads * d), j.k_stride = w;
        j.v = qkv.data() + size_t(2 * n_k_heads * d), j.v_stride = w;
        j.g = g.data(), j.g_stride = size_t(n_v_heads);
        j.beta = beta.data(), j.beta_stride = size_t(n_v_heads);
        j.out = out, j.out_stride = size_t(n_v_heads * d);
        j.n_k_heads = n_k_heads, j.n_v_heads = n_v_heads, j.head_dim = d;
        j.scale = scale, j.l2_norm = l2, j.l2_eps = 1e-6f;
        return j;
    }
};

backend::DeltaRuleParams params(const Inputs& in, DeltaRuleForm form, bool l2 = true) {
    backend::DeltaRuleParams p;
    p.n_k_heads = in.n_k_heads;
    p.n_v_heads = in.n_v_heads;
    p.head_dim = in.d;
    p.scale = 1.0f / std::sqrt(float(in.d));
    p.l2_norm = l2;
    p.l2_eps = 1e-6f;
    p.form = form;
    return p;
}

struct Result {
    std::vector<float> out, state;
};

Result run_backend(CpuBackend& be, Inputs& in, const TestBatch& b, const std::vector<float>& state0, DeltaRuleForm form,
                   bool l2 = true) {
    Result r{std::vector<float>(size_t(in.n_tokens * in.n_v_heads * in.d), -9.0f), state0};
    const int64_t state_width = int64_t(in.n_v_heads) * in.d * in.d;
    be.gated_delta_rule(in.q(), in.k(), in.v(), view(in.g, in.n_tokens, in.n_v_heads),
                        view(in.beta, in.n_tokens, in.n_v_heads),
                        view(r.state, int64_t(state0.size()) / state_width, state_width), b.layout(),
                        params(in, form, l2), view(r.out, in.n_tokens, int64_t(in.n_v_heads) * in.d));
    return r;
}

Result run_ref(const Inputs& in, const TestBatch& b, const std::vector<float>& state0, bool l2 = true) {
    Result r{std::vector<float>(size_t(in.n_tokens * in.n_v_heads * in.d)), state0};
    const DeltaRuleJob job = in.job(r.out.data(), 1.0f / std::sqrt(float(in.d)), l2);
    gated_delta_rule_ref(job, r.state.data(), job.state_floats(), b.seq_first.data(), b.slots.data(), b.fresh_flags(),
                         b.n_seqs());
    return r;
}

// A random starting state of the size a trained model's reaches: entries ~ v k^T sums, |S| about 1.
std::vector<float> random_state(const Inputs& in, int n_slots, uint32_t seed) {
    return random_floats(size_t(n_slots) * size_t(in.n_v_heads) * size_t(in.d * in.d), -0.5f, 0.5f, seed);
}

// Float kernels against the double reference, relative to the largest output. Measured on these inputs: the
// recurrent form within 3e-7, the chunked form within 5e-6 (its forward substitution and the e^{G_t - G_s}
// weights round more per token than one axpy does). 2e-5 leaves 4x room over the worst and still catches any
// wrong term: a missed decay, a transposed state or a wrong key head is off by O(1).
constexpr double kTolerance = 2e-5;

TEST(OpsDeltaRule, BothFormsMatchRefAroundChunkLengths) {
    CpuBackend be(3);
    struct Heads {
        int n_k, n_v, d;
    };
    for (Heads h : {Heads{1, 1, 128}, Heads{2, 4, 32}, Heads{3, 3, 17}}) {
        for (int n : {1, 63, 64, 65, 200}) {
            for (int pos0 : {0, 10}) {
                Inputs in(n, h.n_k, h.n_v, h.d, uint32_t(n * 7 + h.d + pos0));
                const TestBatch b({{n, pos0, 1}});
                const auto state0 = random_state(in, 2, uint32_t(n + h.d));
                const Result ref = run_ref(in, b, state0);
                const Result rec = run_backend(be, in, b, state0, DeltaRuleForm::Recurrent);
                const Result chk = run_backend(be, in, b, state0, DeltaRuleForm::Chunked);
                const std::string where = "heads " + std::to_string(h.n_k) + "/" + std::to_string(h.n_v) + "x" +
                                          std::to_string(h.d) + " n=" + std::to_string(n) + " pos0=" + std::to_string(pos0);
                EXPECT_LT(max_rel_error(rec.out, ref.out), kTolerance) << where;
                EXPECT_LT(max_rel_error(chk.out, ref.out), kTolerance) << where;
                EXPECT_LT(max_rel_error(chk.out, rec.out), kTolerance) << where;
                EXPECT_LT(max_rel_error(rec.state, ref.state), kTolerance) << where;
                EXPECT_LT(max_rel_error(chk.state, ref.state), kTolerance) << where;
                // The slot of no sequence is untouched.
                const size_t slot_floats = state0.size() / 2;
                EXPECT_TRUE(std::equal(chk.state.begin(), chk.state.begin() + long(slot_floats), state0.begin())) << where;
            }
        }
    }
}

TEST(OpsDeltaRule, ValueHeadReadsKeyHeadModulo) {
    // Qwen3.5's GGUF stores the value heads tiled over the key heads (the converter reorders them so): value head
    // h reads key head h % n_k_heads. Each head of a 2-key / 6-value call equals a one-head call given that key head.
    CpuBackend be(2);
    const int n = 9, n_k = 2, n_v = 6, d = 8;
    Inputs all(n, n_k, n_v, d, 31);
    const auto state0 = random_state(all, 1, 32);
    const Result r = run_backend(be, all, TestBatch({{n, 4, 0}}), state0, DeltaRuleForm::Recurrent);
    for (int h = 0; h < n_v; ++h) {
        Inputs one(n, 1, 1, d, 0);
        one.qkv.clear();
        for (int t = 0; t < n; ++t) {
            const float* row = all.qkv.data() + t * all.qkv_width();
            const int kh = h % n_k;
            one.qkv.insert(one.qkv.end(), row + kh * d, row + (kh + 1) * d);                       // q
            one.qkv.insert(one.qkv.end(), row + (n_k + kh) * d, row + (n_k + kh + 1) * d);         // k
            one.qkv.insert(one.qkv.end(), row + (2 * n_k + h) * d, row + (2 * n_k + h + 1) * d);   // v
            one.g[size_t(t)] = all.g[size_t(t * n_v + h)];
            one.beta[size_t(t)] = all.beta[size_t(t * n_v + h)];
        }
        const std::vector<float> s0(state0.begin() + h * d * d, state0.begin() + (h + 1) * d * d);
        const Result o = run_backend(be, one, TestBatch({{n, 4, 0}}), s0, DeltaRuleForm::Recurrent);
        for (int t = 0; t < n; ++t)
            for (int j = 0; j < d; ++j)
                ASSERT_EQ(o.out[size_t(t * d + j)], r.out[size_t(t * n_v * d + h * d + j)]) << "head " << h;
        EXPECT_TRUE(std::equal(o.state.begin(), o.state.end(), r.state.begin() + h * d * d)) << "head " << h;
    }
}

TEST(OpsDeltaRule, WithoutL2NormMatchesRef) {
    CpuBackend be(2);
    for (int n : {5, 70}) {
        Inputs in(n, 2, 4, 16, uint32_t(n));
        for (float& x : in.qkv) x *= 0.25f;  // |k| about 1: the rule stays contractive without the norm
        const TestBatch b({{n, 3, 0}});
        const auto state0 = random_state(in, 1, 9);
        const Result ref = run_ref(in, b, state0, false);
        for (DeltaRuleForm form : {DeltaRuleForm::Recurrent, DeltaRuleForm::Chunked}) {
            const Result got = run_backend(be, in, b, state0, form, false);
            EXPECT_LT(max_rel_error(got.out, ref.out), kTolerance) << n;
            EXPECT_LT(max_rel_error(got.state, ref.state), kTolerance) << n;
        }
    }
}

TEST(OpsDeltaRule, RefMatchesTheRuleOnOneToken) {
    // d = 2, one head, fresh state, no norm, scale 1: S = beta k v^T after the first token, o = S^T q.
    Inputs in(1, 1, 1, 2, 1);
    in.qkv = {0.5f, -1.0f, 0.6f, 0.8f, 2.0f, 3.0f};  // q, k, v
    in.g = {-0.5f};
    in.beta = {0.25f};
    std::vector<float> out(2), state(4, 123.0f);
    DeltaRuleJob job = in.job(out.data(), 1.0f, false);
    const TestBatch b({{1, 0, 0}});
    gated_delta_rule_ref(job, state.data(), 4, b.seq_first.data(), b.slots.data(), b.fresh_flags(), 1);
    // Row j of the stored state is S[.][j] = beta * v_j * k.
    EXPECT_FLOAT_EQ(state[0], 0.25f * 2.0f * 0.6f);
    EXPECT_FLOAT_EQ(state[1], 0.25f * 2.0f * 0.8f);
    EXPECT_FLOAT_EQ(state[2], 0.25f * 3.0f * 0.6f);
    EXPECT_FLOAT_EQ(state[3], 0.25f * 3.0f * 0.8f);
    EXPECT_FLOAT_EQ(out[0], 0.25f * 2.0f * (0.6f * 0.5f - 0.8f));
    EXPECT_FLOAT_EQ(out[1], 0.25f * 3.0f * (0.6f * 0.5f - 0.8f));
    // A second token from that state: the decay applies before the readout of S^T k.
    in.g = {-0.5f};
    std::vector<float> S = state;
    const TestBatch b2({{1, 1, 0}});
    gated_delta_rule_ref(job, state.data(), 4, b2.seq_first.data(), b2.slots.data(), b2.fresh_flags(), 1);
    const double e = std::exp(-0.5);
    for (int j = 0; j < 2; ++j) {
        const double sk = e * (S[size_t(2 * j)] * 0.6 + S[size_t(2 * j + 1)] * 0.8);
        const double u = 0.25 * ((j == 0 ? 2.0 : 3.0) - sk);
        EXPECT_NEAR(state[size_t(2 * j)], e * S[size_t(2 * j)] + 0.6 * u, 1e-6);
        EXPECT_NEAR(state[size_t(2 * j + 1)], e * S[size_t(2 * j + 1)] + 0.8 * u, 1e-6);
    }
}

TEST(OpsDeltaRule, BatchedEqualsAlone) {
    CpuBackend be(4);
    // A prefill of 130 tokens from position 0 (slot 2), a decode token at 77 (slot 0), a run of 3 at 40 (slot 1).
    const std::vector<SeqSpec> seqs = {{130, 0, 2}, {1, 77, 0}, {3, 40, 1}};
    const int n_k = 2, n_v = 4, d = 32;
    Inputs all(134, n_k, n_v, d, 5);
    const auto state0 = random_state(all, 3, 6);
    for (DeltaRuleForm form : {DeltaRuleForm::Auto, DeltaRuleForm::Recurrent, DeltaRuleForm::Chunked}) {
        const Result batched = run_backend(be, all, TestBatch(seqs), state0, form);
        int first = 0;
        for (const SeqSpec& s : seqs) {
            Inputs alone(s.n_tokens, n_k, n_v, d, 0);
            const size_t w = size_t(all.qkv_width());
            alone.qkv.assign(all.qkv.begin() + long(first * w), all.qkv.begin() + long((first + s.n_tokens) * w));
            alone.g.assign(all.g.begin() + first * n_v, all.g.begin() + (first + s.n_tokens) * n_v);
            alone.beta.assign(all.beta.begin() + first * n_v, all.beta.begin() + (first + s.n_tokens) * n_v);
            const Result r = run_backend(be, alone, TestBatch({s}), state0, form);
            const size_t o = size_t(first * n_v * d);
            EXPECT_TRUE(std::equal(r.out.begin(), r.out.end(), batched.out.begin() + long(o))) << "seq at " << first;
            const size_t slot = size_t(s.slot) * size_t(n_v * d * d);
            EXPECT_TRUE(std::equal(r.state.begin() + long(slot), r.state.begin() + long(slot + size_t(n_v * d * d)),
                                   batched.state.begin() + long(slot)))
                << "seq at " << first;
            first += s.n_tokens;
        }
    }
}

TEST(OpsDeltaRule, PiecesEqualWhole) {
    CpuBackend be(2);
    const int n = 200, n_k = 1, n_v = 2, d = 64;
    Inputs whole(n, n_k, n_v, d, 21);
    const auto state0 = random_state(whole, 1, 22);
    auto run_pieces = [&](std::vector<int> lens, DeltaRuleForm form) {
        Result acc{{}, state0};
        int first = 0;
        for (int len : lens) {
            Inputs piece(len, n_k, n_v, d, 0);
            const size_t w = size_t(whole.qkv_width());
            piece.qkv.assign(whole.qkv.begin() + long(first * w), whole.qkv.begin() + long((first + len) * w));
            piece.g.assign(whole.g.begin() + first * n_v, whole.g.begin() + (first + len) * n_v);
            piece.beta.assign(whole.beta.begin() + first * n_v, whole.beta.begin() + (first + len) * n_v);
            Result r = run_backend(be, piece, TestBatch({{len, first, 0}}), acc.state, form);
            acc.out.insert(acc.out.end(), r.out.begin(), r.out.end());
            acc.state = r.state;
            first += len;
        }
        return acc;
    };
    // Token by token: any cut gives the same bits.
    const Result rec = run_pieces({n}, DeltaRuleForm::Recurrent);
    const Result rec_cut = run_pieces({1, 50, 13, 136}, DeltaRuleForm::Recurrent);
    EXPECT_EQ(rec_cut.out, rec.out);
    EXPECT_EQ(rec_cut.state, rec.state);
    // Chunked: chunks end at positions that are multiples of 64, so cuts there give the same bits...
    const Result chk = run_pieces({n}, DeltaRuleForm::Chunked);
    const Result chk_cut = run_pieces({64, 128, 8}, DeltaRuleForm::Chunked);
    EXPECT_EQ(chk_cut.out, chk.out);
    EXPECT_EQ(chk_cut.state, chk.state);
    // ...and any other cut the same rule within rounding.
    const Result chk_odd = run_pieces({30, 1, 100, 69}, DeltaRuleForm::Chunked);
    EXPECT_LT(max_rel_error(chk_odd.out, chk.out), kTolerance);
    EXPECT_LT(max_rel_error(chk.out, rec.out), kTolerance);
}

}  // namespace
}  // namespace hotrod::cpu
