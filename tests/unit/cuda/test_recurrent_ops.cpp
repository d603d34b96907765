// CudaBackend's small recurrent-layer ops against the CPU: conv1d_causal against conv1d_causal_ref (ragged channel
// counts around the 128-thread block, several sequences fresh and continuing, in place and not, padded rows) and its
// snapshot rows against CpuBackend's; delta_gates, rms_norm_gated, sigmoid_gate and copy_heads against CpuBackend
// (their CPU kernels are their own references, checked there against the formulas in double). Random data, never
// zeros; outputs poisoned before each kernel so an unwritten element fails every bound.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/ops_conv.h"
#include "cpu/recurrent_test_util.h"
#include "cuda/cuda_backend.h"
#include "gpu_test_util.h"

namespace hotrod::cuda::test {
namespace {

using backend::TensorView;
using cpu::testing::SeqSpec;
using cpu::testing::TestBatch;

// A view of rows `stride` floats apart, starting `offset` floats in (device or host memory alike).
TensorView view(float* base, int64_t n_rows, int64_t n_cols, int64_t stride, int64_t offset = 0) {
    return {quant::DType::F32, base + offset, n_rows, n_cols, size_t(stride) * sizeof(float)};
}

std::vector<float> uniform(size_t n, float lo, float hi, uint32_t seed) {
    std::vector<float> v = cpu::testing::random_floats(n, lo, hi, seed);
    for (float& x : v)
        if (x == 0.0f) x = 1e-3f;  // never zeros
    return v;
}

// Every element within rel * |ref| + abs of the reference (a NaN or the poison fails); reports the worst.
void expect_near(const std::vector<float>& got, const std::vector<float>& ref, double rel, double abs,
                 const std::string& what) {
    ASSERT_EQ(got.size(), ref.size()) << what;
    size_t n_bad = 0, first_bad = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        const double d = std::fabs(double(got[i]) - double(ref[i]));
        if (!(d <= rel * std::fabs(double(ref[i])) + abs) && n_bad++ == 0) first_bad = i;
    }
    const ErrorStats s = compare(got.data(), ref.data(), ref.size());
    EXPECT_EQ(n_bad, 0u) << what << ": " << n_bad << " of " << ref.size() << " out of bounds, first at " << first_bad
                         << " (got " << got[first_bad] << ", want " << ref[first_bad] << "); max abs " << s.max_abs
                         << ", nmse " << s.nmse;
}

// ---------------------------------------------------------------------------------------------------------------
// conv1d_causal. Outputs within 1e-6 relative (+1e-7): the kernel sums the taps in the reference's order with each
// product and sum rounded alone (no FMA), so without SiLU it gives the reference's bits; with SiLU, CUDA's expf
// (<= 2 ulp from glibc's) moves the result by a few ulp (~4e-7). States and snapshots are copies of inputs: equal.

TEST(CudaRecurrent, ConvMatchesRefAtRaggedSizes) {
    HOTROD_REQUIRE_GPU();
    CudaBackend be{CudaOptions{}};
    // Slots 0..4 for the sequences; 5 no sequence uses (must come back untouched).
    const std::vector<SeqSpec> seqs = {{5, 0, 2}, {1, 9, 0}, {2, 4, 3}, {17, 30, 1}, {200, 0, 4}};
    const TestBatch b(seqs);
    const int n_slots = 6;
    uint32_t seed = 1;
    for (int K : {2, 3, 4}) {
        for (int64_t C : {1, 7, 100, 127, 128, 129, 200}) {
            const int64_t pad = C % 2 ? 3 : 0;  // x rows wider than C (a column view), every other size
            const int64_t xs = C + pad;
            for (bool silu : {false, true}) {
                const auto x = uniform(size_t(b.n_tokens * xs), -2, 2, seed++);
                const auto w = uniform(size_t(C * K), -1, 1, seed++);
                const auto state0 = uniform(size_t(n_slots * (K - 1) * C), -2, 2, seed++);
                std::vector<float> ref_state = state0, ref_out = x;
                const cpu::ConvJob job{x.data(), size_t(xs), w.data(), ref_state.data(), size_t((K - 1) * C),
                                       ref_out.data(), size_t(xs), C, K, silu};
                cpu::conv1d_causal_ref(job, b.seq_first.data(), b.slots.data(), b.fresh_flags(), b.n_seqs());
                for (bool in_place : {false, true}) {
                    DeviceArray<float> dx(x), dw(w), ds(state0), dout(x.size());
                    dout.poison();
                    float* out_base = in_place ? dx.get() : dout.get();
                    if (!in_place) {  // padding of out is not written: start it as the reference's (= x)
                        dout.upload(x);
                        for (int64_t t = 0; t < b.n_tokens; ++t)
                            HOTROD_CUDA_CHECK(cudaMemset(dout.get() + t * xs, 0x7f, size_t(C) * sizeof(float)));
                        HOTROD_CUDA_CHECK(cudaDeviceSynchronize());  // the fills land before the op's stream runs
                    }
                    be.conv1d_causal(view(dx.get(), b.n_tokens, C, xs), view(dw.get(), C, K, K),
                                     view(ds.get(), n_slots, (K - 1) * C, (K - 1) * C), b.layout(), silu,
                                     view(out_base, b.n_tokens, C, xs));
                    be.sync();
                    const std::string what = "conv K=" + std::to_string(K) + " C=" + std::to_string(C) +
                                             " silu=" + std::to_string(silu) + " in_place=" + std::to_string(in_place);
                    expect_near(in_place ? dx.download() : dout.download(), ref_out, 1e-6, 1e-7, what);
                    EXPECT_EQ(ds.download(), ref_state) << what;
                }
            }
        }
    }
}

// Snapshots inside and at the end of runs (two sequences, one fresh, one continuing): the rows equal CpuBackend's
// bit for bit, and the outputs and final states are those of the same call without snapshots.
TEST(CudaRecurrent, ConvSnapshotsEqualCpu) {
    HOTROD_REQUIRE_GPU();
    CudaBackend be{CudaOptions{}};
    cpu::CpuBackend cpu_be(2);
    const int64_t C = 150;
    const int K = 4, n_rows = 7;
    const TestBatch b({{50, 0, 0}, {30, 10, 1}});
    const std::vector<backend::StateSnapshot> snaps = {{0, 1, 2}, {0, 16, 3}, {0, 50, 4}, {1, 11, 5}, {1, 40, 6}};
    const auto x = uniform(size_t(b.n_tokens * C), -1, 1, 3), w = uniform(size_t(C * K), -1, 1, 4);
    const auto state0 = uniform(size_t(n_rows * (K - 1) * C), -1, 1, 5);
    backend::RecurrentLayout l = b.layout();
    l.snapshots = snaps;

    std::vector<float> cx = x, cw = w, cstate = state0, cout(x.size());
    cpu_be.conv1d_causal(view(cx.data(), b.n_tokens, C, C), view(cw.data(), C, K, K),
                         view(cstate.data(), n_rows, (K - 1) * C, (K - 1) * C), l, true, view(cout.data(), b.n_tokens, C, C));
    DeviceArray<float> dx(x), dw(w), ds(state0), dout(x.size());
    dout.poison();
    be.conv1d_causal(view(dx.get(), b.n_tokens, C, C), view(dw.get(), C, K, K),
                     view(ds.get(), n_rows, (K - 1) * C, (K - 1) * C), l, true, view(dout.get(), b.n_tokens, C, C));
    be.sync();
    EXPECT_EQ(ds.download(), cstate);  // snapshot rows and final states alike
    expect_near(dout.download(), cout, 1e-6, 1e-7, "conv with snapshots");
}

TEST(CudaRecurrent, ConvRefusesBadLayouts) {
    HOTROD_REQUIRE_GPU();
    CudaBackend be{CudaOptions{}};
    const int64_t C = 8;
    const int K = 4;
    const TestBatch b({{3, 0, 0}, {2, 5, 1}});
    DeviceArray<float> dx(uniform(size_t(b.n_tokens * C), -1, 1, 1)), dw(uniform(size_t(C * K), -1, 1, 2)),
        ds(size_t(4 * (K - 1) * C));
    auto run = [&](backend::RecurrentLayout l) {
        be.conv1d_causal(view(dx.get(), b.n_tokens, C, C), view(dw.get(), C, K, K),
                         view(ds.get(), 4, (K - 1) * C, (K - 1) * C), l, false, view(dx.get(), b.n_tokens, C, C));
    };
    backend::RecurrentLayout l = b.layout();
    const std::vector<int32_t> same_slot = {1, 1}, far_slot = {0, 4};
    l.state_slots = same_slot;
    EXPECT_THROW(run(l), std::invalid_argument);
    l.state_slots = far_slot;
    EXPECT_THROW(run(l), std::invalid_argument);
    l = b.layout();
    const std::vector<backend::StateSnapshot> into_slot = {{0, 2, 1}}, at_start = {{1, 5, 2}};
    l.snapshots = into_slot;
    EXPECT_THROW(run(l), std::invalid_argument);
    l.snapshots = at_start;
    EXPECT_THROW(run(l), std::invalid_argument);
    be.sync();
}

// ---------------------------------------------------------------------------------------------------------------
// The gates. Bounds: 2e-6 relative (+1e-30 for results in the subnormals): the kernels take the CPU's float steps
// in its order, so what differs is CUDA's expf / log1pf against glibc's (<= 2 ulp each) and, for the gated norm,
// the order of the double sum of squares (<= 1 ulp of the float mean): a handful of ulps (1 ulp = 6e-8 relative).

TEST(CudaRecurrent, DeltaGatesMatchCpu) {
    HOTROD_REQUIRE_GPU();
    CudaBackend be{CudaOptions{}};
    cpu::CpuBackend cpu_be(1);
    for (int64_t n : {1, 7, 300}) {
        for (int64_t H : {1, 16, 32, 33}) {
            // alpha + dt_bias crosses the linear cut-off at 20 and reaches -30 (softplus ~ exp(a)).
            const auto alpha = uniform(size_t(n * H), -28, 28, uint32_t(n * 100 + H));
            const auto b = uniform(size_t(n * H), -12, 12, uint32_t(n * 100 + H + 1));
            const auto a_neg = uniform(size_t(H), -8, -0.01f, uint32_t(H + 2));
            const auto dt_bias = uniform(size_t(H), -2, 2, uint32_t(H + 3));
            std::vector<float> g_ref = alpha, beta_ref = b, an = a_neg, dt = dt_bias;
            cpu_be.delta_gates(view(g_ref.data(), n, H, H), view(beta_ref.data(), n, H, H), view(an.data(), 1, H, H),
                               view(dt.data(), 1, H, H), view(g_ref.data(), n, H, H), view(beta_ref.data(), n, H, H));
            // In place, as the model calls it (g over alpha, beta over b).
            DeviceArray<float> dal(alpha), db(b), dan(a_neg), ddt(dt_bias);
            be.delta_gates(view(dal.get(), n, H, H), view(db.get(), n, H, H), view(dan.get(), 1, H, H),
                           view(ddt.get(), 1, H, H), view(dal.get(), n, H, H), view(db.get(), n, H, H));
            be.sync();
            const std::string what = "delta_gates " + std::to_string(n) + "x" + std::to_string(H);
            expect_near(dal.download(), g_ref, 2e-6, 1e-30, what + " g");
            expect_near(db.download(), beta_ref, 2e-6, 1e-30, what + " beta");
        }
    }
}

TEST(CudaRecurrent, RmsNormGatedMatchesCpu) {
    HOTROD_REQUIRE_GPU();
    CudaBackend be{CudaOptions{}};
    cpu::CpuBackend cpu_be(1);
    struct Case {
        int64_t n_rows;
        int head_dim, n_heads;
        bool in_place;
    };
    for (const Case& k : {Case{1, 128, 32, true}, Case{5, 128, 4, false}, Case{200, 64, 3, true},
                          Case{9, 30, 5, false}, Case{3, 256, 2, true}, Case{17, 33, 1, false}}) {
        const int64_t W = int64_t(k.head_dim) * k.n_heads;
        const auto x = uniform(size_t(k.n_rows * W), -3, 3, uint32_t(W + k.n_rows));
        const auto z = uniform(size_t(k.n_rows * W), -6, 6, uint32_t(W + k.n_rows + 1));
        const auto w = uniform(size_t(k.head_dim), -2, 2, uint32_t(k.head_dim));
        std::vector<float> cx = x, cz = z, cw = w, ref(x.size());
        cpu_be.rms_norm_gated(view(cx.data(), k.n_rows, W, W), view(cw.data(), 1, k.head_dim, k.head_dim),
                              view(cz.data(), k.n_rows, W, W), k.head_dim, 1e-6f, view(ref.data(), k.n_rows, W, W));
        DeviceArray<float> dx(x), dz(z), dw(w), dout(x.size());
        dout.poison();
        float* out = k.in_place ? dx.get() : dout.get();
        be.rms_norm_gated(view(dx.get(), k.n_rows, W, W), view(dw.get(), 1, k.head_dim, k.head_dim),
                          view(dz.get(), k.n_rows, W, W), k.head_dim, 1e-6f, view(out, k.n_rows, W, W));
        be.sync();
        expect_near(k.in_place ? dx.download() : dout.download(), ref, 2e-6, 1e-30,
                    "rms_norm_gated " + std::to_string(k.n_rows) + "x" + std::to_string(k.n_heads) + "x" +
                        std::to_string(k.head_dim));
    }
}

// sigmoid_gate and copy_heads on the fused [q | gate] layout of gated attention: each head's query then its gate.
TEST(CudaRecurrent, SigmoidGateAndCopyHeadsMatchCpu) {
    HOTROD_REQUIRE_GPU();
    CudaBackend be{CudaOptions{}};
    cpu::CpuBackend cpu_be(1);
    struct Case {
        int64_t n_rows;
        int head_dim, n_heads;
    };
    for (const Case& k : {Case{1, 256, 16}, Case{7, 64, 4}, Case{300, 128, 2}, Case{5, 30, 3}, Case{2, 256, 1}}) {
        const int64_t W = int64_t(k.head_dim) * k.n_heads, QW = 2 * W;
        const auto qg = uniform(size_t(k.n_rows * QW), -8, 8, uint32_t(W + k.n_rows));
        const auto attn = uniform(size_t(k.n_rows * W), -2, 2, uint32_t(W + k.n_rows + 1));
        const std::string what = std::to_string(k.n_rows) + "x" + std::to_string(k.n_heads) + "x" +
                                 std::to_string(k.head_dim);
        // copy_heads: the queries out of [q | gate], exact.
        std::vector<float> cqg = qg, q_ref(size_t(k.n_rows * W));
        cpu_be.copy_heads(view(cqg.data(), k.n_rows, QW, QW), k.head_dim, 2 * k.head_dim,
                          view(q_ref.data(), k.n_rows, W, W));
        DeviceArray<float> dqg(qg), dq(q_ref.size());
        dq.poison();
        be.copy_heads(view(dqg.get(), k.n_rows, QW, QW), k.head_dim, 2 * k.head_dim, view(dq.get(), k.n_rows, W, W));
        be.sync();
        EXPECT_EQ(dq.download(), q_ref) << "copy_heads " << what;
        // sigmoid_gate: attn *= sigmoid(gate), the gate a view head_dim floats into each [q | gate] row.
        const int64_t gate_cols = QW - k.head_dim;
        std::vector<float> x_ref = attn;
        cpu_be.sigmoid_gate(view(x_ref.data(), k.n_rows, W, W), view(cqg.data(), k.n_rows, gate_cols, QW, k.head_dim),
                            k.head_dim, 2 * k.head_dim);
        DeviceArray<float> dx(attn);
        be.sigmoid_gate(view(dx.get(), k.n_rows, W, W), view(dqg.get(), k.n_rows, gate_cols, QW, k.head_dim), k.head_dim,
                        2 * k.head_dim);
        be.sync();
        expect_near(dx.download(), x_ref, 2e-6, 1e-30, "sigmoid_gate " + what);
    }
}

}  // namespace
}  // namespace hotrod::cuda::test
