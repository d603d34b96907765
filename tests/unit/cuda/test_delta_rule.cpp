// CudaBackend::gated_delta_rule against the double reference gated_delta_rule_ref: the model's head layouts and
// ragged ones, runs of 1 / 63 / 64 / 65 / 200 tokens, three sequences a batch (fresh, continuing a random state,
// a decode token) in distinct slots, q / k / v as column views of one [q | k | v] row as the model passes them;
// snapshot rows inside and at the end of runs against CpuBackend's. The chunked kernel (head_dim 64 and 128) by
// itself and beside the recurrent one, against the reference and the recurrent kernel. Then the step's copy of the
// layout (begin_step) and CUDA graph replay against ad-hoc uploads, bit for bit.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/ops_delta_rule.h"
#include "cpu/recurrent_test_util.h"
#include "cuda/cuda_backend.h"
#include "gpu_test_util.h"

namespace hotrod::cuda::test {
namespace {

using backend::DeltaRuleForm;
using backend::StateSnapshot;
using backend::TensorView;
using cpu::testing::max_rel_error;
using cpu::testing::SeqSpec;
using cpu::testing::TestBatch;

// Relative to the largest value of each compared tensor (cpu::testing::max_rel_error), as the CPU's tests measure
// both its forms. The CPU's float kernel is within 3e-7 of the double reference on these inputs; the GPU's dots add
// in another order with FMAs, the same size of rounding. 2e-5 leaves ample room and still catches any wrong term
// (a missed decay, a transposed state, a wrong key head or slot are off by O(1)).
constexpr double kTolerance = 2e-5;

TensorView view(float* base, int64_t n_rows, int64_t n_cols, int64_t stride, int64_t offset = 0) {
    return {quant::DType::F32, base + offset, n_rows, n_cols, size_t(stride) * sizeof(float)};
}

// One call's inputs, host and device: per token a [q | k | v] row (the conv output's layout), g and beta.
struct Inputs {
    int n_tokens, nk, nv, d;
    std::vector<float> qkv, g, beta;
    int64_t width() const { return int64_t(2 * nk + nv) * d; }
    Inputs(int n, int nk_, int nv_, int d_, uint32_t seed) : n_tokens(n), nk(nk_), nv(nv_), d(d_) {
        qkv = cpu::testing::random_floats(size_t(n * width()), -1, 1, seed);
        // Log decays as Qwen3.5's (mostly in [-2, 0)), a few very strong ones (-60: the state forgotten).
        g = cpu::testing::random_floats(size_t(n * nv), -2.0f, -0.001f, seed + 1);
        for (size_t i = 7; i < g.size(); i += 97) g[i] = -60.0f;
        beta = cpu::testing::random_floats(size_t(n * nv), 0.01f, 1.0f, seed + 2);
    }
    cpu::DeltaRuleJob job(float* out, bool l2) const {
        cpu::DeltaRuleJob j;
        const size_t w = size_t(width());
        j.q = qkv.data(), j.q_stride = w;
        j.k = qkv.data() + size_t(nk * d), j.k_stride = w;
        j.v = qkv.data() + size_t(2 * nk * d), j.v_stride = w;
        j.g = g.data(), j.g_stride = size_t(nv);
        j.beta = beta.data(), j.beta_stride = size_t(nv);
        j.out = out, j.out_stride = size_t(nv * d);
        j.n_k_heads = nk, j.n_v_heads = nv, j.head_dim = d;
        j.scale = 1.0f / std::sqrt(float(d)), j.l2_norm = l2, j.l2_eps = 1e-6f;
        return j;
    }
    backend::DeltaRuleParams params(bool l2, DeltaRuleForm form) const {
        backend::DeltaRuleParams p;
        p.n_k_heads = nk, p.n_v_heads = nv, p.head_dim = d, p.scale = 1.0f / std::sqrt(float(d));
        p.l2_norm = l2, p.l2_eps = 1e-6f, p.form = form;
        return p;
    }
    int64_t state_width() const { return int64_t(nv) * d * d; }
};

struct Result {
    std::vector<float> out, state;
};

// Runs the op on any backend given base pointers of the tensors in its memory (host for the CPU, device for CUDA).
void run_op(backend::Backend& be, const Inputs& in, float* qkv, float* g, float* beta, float* state, int n_rows,
            float* out, const backend::RecurrentLayout& l, bool l2, DeltaRuleForm form = DeltaRuleForm::Auto) {
    const int64_t n = in.n_tokens, W = in.width(), kw = int64_t(in.nk) * in.d, vw = int64_t(in.nv) * in.d;
    be.gated_delta_rule(view(qkv, n, kw, W, 0), view(qkv, n, kw, W, kw), view(qkv, n, vw, W, 2 * kw),
                        view(g, n, in.nv, in.nv), view(beta, n, in.nv, in.nv),
                        view(state, n_rows, in.state_width(), in.state_width()), l, in.params(l2, form), view(out, n, vw, vw));
}

Result run_gpu(CudaBackend& be, const Inputs& in, const std::vector<float>& state0, int n_rows,
               const backend::RecurrentLayout& l, bool l2 = true, DeltaRuleForm form = DeltaRuleForm::Auto) {
    DeviceArray<float> qkv(in.qkv), g(in.g), beta(in.beta), state(state0), out(size_t(in.n_tokens * in.nv * in.d));
    out.poison();
    run_op(be, in, qkv.get(), g.get(), beta.get(), state.get(), n_rows, out.get(), l, l2, form);
    be.sync();
    return {out.download(), state.download()};
}

Result run_cpu(const Inputs& in, const std::vector<float>& state0, int n_rows, const backend::RecurrentLayout& l,
               bool l2 = true) {
    cpu::CpuBackend be(4);
    Inputs c = in;
    Result r{std::vector<float>(size_t(in.n_tokens * in.nv * in.d)), state0};
    run_op(be, c, c.qkv.data(), c.g.data(), c.beta.data(), r.state.data(), n_rows, r.out.data(), l, l2);
    return r;
}

Result run_ref(const Inputs& in, const TestBatch& b, const std::vector<float>& state0, bool l2 = true) {
    Result r{std::vector<float>(size_t(in.n_tokens * in.nv * in.d)), state0};
    const cpu::DeltaRuleJob job = in.job(r.out.data(), l2);
    cpu::gated_delta_rule_ref(job, r.state.data(), job.state_floats(), b.seq_first.data(), b.slots.data(),
                              b.fresh_flags(), b.n_seqs());
    return r;
}

std::vector<float> row(const std::vector<float>& state, int64_t width, int r) {
    return {state.begin() + long(r * width), state.begin() + long((r + 1) * width)};
}

TEST(CudaDeltaRule, MatchesRefAcrossHeadsLengthsAndSequences) {
    HOTROD_REQUIRE_GPU();
    CudaBackend be{CudaOptions{}};
    struct Heads {
        int nk, nv, d;
    };
    for (Heads h : {Heads{1, 1, 128}, Heads{2, 4, 32}, Heads{16, 32, 128}, Heads{1, 2, 96}, Heads{2, 2, 256}}) {
        const bool big = h.nv * h.d * h.d > 100000;
        for (int n : {1, 63, 64, 65, 200}) {
            if (big && n == 63) continue;  // the double reference's time; 64 and 65 keep the lengths around 64
            // Rows 0..3: 0 decode (continuing at 77), 1 fresh, 2 untouched, 3 continuing at 10; 4..7 snapshots.
            const std::vector<SeqSpec> seqs = {{n, 0, 1}, {n, 10, 3}, {1, 77, 0}};
            const TestBatch b(seqs);
            const int n_rows = 8;
            Inputs in(b.n_tokens, h.nk, h.nv, h.d, uint32_t(n * 7 + h.d + h.nv));
            const auto state0 = cpu::testing::random_floats(size_t(n_rows * in.state_width()), -0.5f, 0.5f,
                                                            uint32_t(n + h.d));
            const std::string where = "heads " + std::to_string(h.nk) + "/" + std::to_string(h.nv) + "x" +
                                      std::to_string(h.d) + " n=" + std::to_string(n);
            // Without snapshots: outputs and final states against the double reference.
            const Result ref = run_ref(in, b, state0);
            const Result got = run_gpu(be, in, state0, n_rows, b.layout());
            EXPECT_LT(max_rel_error(got.out, ref.out), kTolerance) << where;
            for (int slot : {0, 1, 3})
                EXPECT_LT(max_rel_error(row(got.state, in.state_width(), slot), row(ref.state, in.state_width(), slot)),
                          kTolerance)
                    << where << " slot " << slot;
            EXPECT_EQ(row(got.state, in.state_width(), 2), row(state0, in.state_width(), 2)) << where;

            // With snapshots inside and at the end of the runs: the same outputs and states bit for bit, and the
            // snapshot rows as CpuBackend's (a float kernel within 3e-7 of the reference).
            backend::RecurrentLayout l = b.layout();
            std::vector<StateSnapshot> snaps;
            if (n > 1) snaps.push_back({0, n / 2, 4});
            snaps.push_back({0, n, 5});
            snaps.push_back({1, 11, 6});
            if (n > 1) snaps.push_back({1, 10 + n, 7});
            l.snapshots = snaps;
            const Result with = run_gpu(be, in, state0, n_rows, l);
            EXPECT_EQ(with.out, got.out) << where;
            for (int slot : {0, 1, 2, 3})
                EXPECT_EQ(row(with.state, in.state_width(), slot), row(got.state, in.state_width(), slot)) << where;
            const Result cpu = run_cpu(in, state0, n_rows, l);
            for (const StateSnapshot& sn : snaps)
                EXPECT_LT(max_rel_error(row(with.state, in.state_width(), sn.row), row(cpu.state, in.state_width(), sn.row)),
                          kTolerance)
                    << where << " snapshot of sequence " << sn.seq << " at " << sn.position;
        }
    }
}

// Both kernels (Auto takes the chunked one at 70 tokens, Chunked at 5 too), head_dim 64 and 128.
TEST(CudaDeltaRule, WithoutL2NormMatchesRef) {
    HOTROD_REQUIRE_GPU();
    CudaBackend be{CudaOptions{}};
    for (int d : {64, 128}) {
        for (int n : {5, 70}) {
            Inputs in(n, 2, 4, d, uint32_t(n + d));
            for (float& x : in.qkv) x *= 0.125f;  // |k| about 0.5: the rule stays contractive without the norm
            const TestBatch b({{n, 3, 0}});
            const auto state0 = cpu::testing::random_floats(size_t(in.state_width()), -0.5f, 0.5f, 9);
            const Result ref = run_ref(in, b, state0, false);
            for (DeltaRuleForm form : {DeltaRuleForm::Auto, DeltaRuleForm::Recurrent, DeltaRuleForm::Chunked}) {
                const Result got = run_gpu(be, in, state0, 1, b.layout(), false, form);
                EXPECT_LT(max_rel_error(got.out, ref.out), kTolerance) << "d " << d << " n " << n << " form " << int(form);
                EXPECT_LT(max_rel_error(got.state, ref.state), kTolerance)
                    << "d " << d << " n " << n << " form " << int(form);
            }
        }
    }
}

// The chunked kernel against the double reference and against the recurrent kernel on the same inputs: head_dim 64
// and 128 with two value heads a key head, runs of 1 / 63 / 64 / 65 / 200 / 300 tokens (partial chunks, a chunk
// exactly, several) beside a 40-token run continuing a state and a decode token. DeltaRuleForm::Chunked puts every
// run on the chunked kernel (the decode token a chunk of one); Auto the runs of kDeltaChunkedMinTokens or more, the
// rest on the recurrent kernel in the same call. Snapshots inside chunks, on a chunk boundary and at run ends against
// CpuBackend's (the recurrent float kernel); the outputs and states the same bits with them as without (a snapshot
// does not cut a chunk).
TEST(CudaDeltaRule, ChunkedMatchesRefAndRecurrent) {
    HOTROD_REQUIRE_GPU();
    CudaBackend be{CudaOptions{}};
    struct Heads {
        int nk, nv, d;
    };
    for (Heads h : {Heads{2, 4, 64}, Heads{2, 4, 128}}) {
        for (int n : {1, 63, 64, 65, 200, 300}) {
            // Rows 0..4: 0 decode (continuing at 77), 1 fresh, 2 untouched, 3 continuing at 10, 4 continuing at 500;
            // 5.. snapshots.
            const std::vector<SeqSpec> seqs = {{n, 0, 1}, {n, 10, 3}, {1, 77, 0}, {40, 500, 4}};
            const TestBatch b(seqs);
            std::vector<StateSnapshot> snaps;
            int next_row = 5;
            auto snap = [&](int seq, int position) { snaps.push_back({seq, position, next_row++}); };
            if (n > 1 && n / 2 < 64) snap(0, n / 2);
            if (n > 64) snap(0, 64);  // a chunk boundary inside the run
            if (n / 2 > 64) snap(0, n / 2);
            snap(0, n);
            snap(1, 11);  // after the run's first token
            if (n > 63) snap(1, 10 + 63);
            if (n > 1) snap(1, 10 + n);
            snap(2, 78);
            snap(3, 517);
            const int n_rows = next_row;
            Inputs in(b.n_tokens, h.nk, h.nv, h.d, uint32_t(n * 13 + h.d));
            const auto state0 =
                cpu::testing::random_floats(size_t(n_rows * in.state_width()), -0.5f, 0.5f, uint32_t(n + 3 * h.d));
            const Result ref = run_ref(in, b, state0);
            const Result rec = run_gpu(be, in, state0, n_rows, b.layout(), true, DeltaRuleForm::Recurrent);
            backend::RecurrentLayout with_snaps = b.layout();
            with_snaps.snapshots = snaps;
            const Result cpu = run_cpu(in, state0, n_rows, with_snaps);
            for (DeltaRuleForm form : {DeltaRuleForm::Chunked, DeltaRuleForm::Auto}) {
                const std::string where = "d " + std::to_string(h.d) + " n=" + std::to_string(n) +
                                          (form == DeltaRuleForm::Chunked ? " chunked" : " auto");
                const Result got = run_gpu(be, in, state0, n_rows, b.layout(), true, form);
                EXPECT_LT(max_rel_error(got.out, ref.out), kTolerance) << where;
                EXPECT_LT(max_rel_error(got.out, rec.out), kTolerance) << where << " against the recurrent kernel";
                for (int slot : {0, 1, 3, 4}) {
                    const auto g = row(got.state, in.state_width(), slot);
                    EXPECT_LT(max_rel_error(g, row(ref.state, in.state_width(), slot)), kTolerance) << where << " slot " << slot;
                    EXPECT_LT(max_rel_error(g, row(rec.state, in.state_width(), slot)), kTolerance)
                        << where << " slot " << slot << " against the recurrent kernel";
                }
                EXPECT_EQ(row(got.state, in.state_width(), 2), row(state0, in.state_width(), 2)) << where;

                const Result with = run_gpu(be, in, state0, n_rows, with_snaps, true, form);
                EXPECT_EQ(with.out, got.out) << where;
                for (int slot : {0, 1, 2, 3, 4})
                    EXPECT_EQ(row(with.state, in.state_width(), slot), row(got.state, in.state_width(), slot)) << where;
                for (const StateSnapshot& sn : snaps)
                    EXPECT_LT(max_rel_error(row(with.state, in.state_width(), sn.row), row(cpu.state, in.state_width(), sn.row)),
                              kTolerance)
                        << where << " snapshot of sequence " << sn.seq << " at " << sn.position;
            }
        }
    }
}

// A decode-sized step (<= 16 tokens: its launches recorded, then captured as a CUDA graph) whose recurrent layout was
// handed to begin_step: the ops read the step's device copy of it. Two steps of the same shape with different
// positions, fresh flags and snapshots: the second replays the first's graph and must still read its own layout.
// Both equal the same ops called outside a step (the layout uploaded ad hoc), bit for bit.
TEST(CudaDeltaRule, StepLayoutAndGraphReplayEqualAdHoc) {
    HOTROD_REQUIRE_GPU();
    CudaBackend be{CudaOptions{}};
    const int nk = 2, nv = 4, d = 64, n_rows = 8, K = 4;
    const int64_t C = int64_t(2 * nk + nv) * d;  // the conv runs over the [q | k | v] rows, as in the model
    struct StepSpec {
        std::vector<SeqSpec> seqs;
        std::vector<StateSnapshot> snaps;
    };
    // 5 tokens in 3 sequences both times; the first step takes two snapshots, the second one (never more, so the
    // index buffer does not grow and the graph is replayed).
    const StepSpec steps[2] = {{{{1, 5, 0}, {3, 7, 2}, {1, 0, 1}}, {{1, 9, 4}, {2, 1, 5}}},
                               {{{1, 0, 0}, {3, 12, 2}, {1, 1, 1}}, {{1, 15, 6}}}};
    Inputs in(5, nk, nv, d, 17);
    const auto state0 = cpu::testing::random_floats(size_t(n_rows * in.state_width()), -0.5f, 0.5f, 18);
    const auto conv_w = cpu::testing::random_floats(size_t(C * K), -1, 1, 19);
    const auto conv0 = cpu::testing::random_floats(size_t(n_rows * (K - 1) * C), -1, 1, 20);
    DeviceArray<float> qkv(size_t(5 * C)), g(in.g), beta(in.beta), state(state0.size()), out(size_t(5 * nv * d)),
        cw(conv_w), conv(conv0.size());

    // conv (in place, SiLU) then the delta rule, as a delta-net layer runs them.
    auto run = [&](const backend::RecurrentLayout& l) {
        qkv.upload(in.qkv);
        state.upload(state0);
        conv.upload(conv0);
        out.poison();
        be.conv1d_causal(view(qkv.get(), 5, C, C), view(cw.get(), C, K, K), view(conv.get(), n_rows, (K - 1) * C, (K - 1) * C),
                         l, true, view(qkv.get(), 5, C, C));
        run_op(be, in, qkv.get(), g.get(), beta.get(), state.get(), n_rows, out.get(), l, true);
        be.sync();
        return std::vector<std::vector<float>>{out.download(), state.download(), conv.download(), qkv.download()};
    };
    for (int s = 0; s < 2; ++s) {
        const TestBatch b(steps[s].seqs), b_copy(steps[s].seqs);  // the copy: other addresses, not the step's spans
        backend::RecurrentLayout registered = b.layout(), ad_hoc = b_copy.layout();
        registered.snapshots = steps[s].snaps;
        const std::vector<StateSnapshot> snaps_copy = steps[s].snaps;
        ad_hoc.snapshots = snaps_copy;
        const auto want = run(ad_hoc);
        const std::vector<int32_t> tokens = {1, 2, 3, 4, 5}, logit_rows = {0, 3, 4};
        backend::KvLayout kv;  // no attention in this step: positions and sequences only
        kv.positions = b.positions;
        kv.token_seq = b.token_seq;
        be.begin_step(backend::StepIndex{tokens, logit_rows, kv, registered});
        const auto got = run(registered);
        const char* names[] = {"out", "state", "conv state", "conv out"};
        for (int i = 0; i < 4; ++i) EXPECT_EQ(got[size_t(i)], want[size_t(i)]) << "step " << s << " " << names[i];
    }
    if (be.graph_stats().captures + be.graph_stats().replays > 0) {  // graphs on (HOTROD_CUDA_GRAPHS unset)
        EXPECT_EQ(be.graph_stats().captures, 1u);
        EXPECT_EQ(be.graph_stats().replays, 1u);
    }
}

}  // namespace
}  // namespace hotrod::cuda::test
