// State snapshots inside the recurrent ops (backend::StateSnapshot, the hybrid prefix cache's source): a run with
// snapshots gives the same outputs and final states as one without, bit for bit, and each snapshot row holds
// exactly the state of running the sequence's tokens up to that position alone. Random data, two sequences (one
// starting fresh, one continuing a random state), snapshots inside and at the end of each run.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "cpu/cpu_backend.h"
#include "recurrent_test_util.h"

namespace hotrod::cpu {
namespace {

using backend::StateSnapshot;
using testing::random_floats;
using testing::SeqSpec;
using testing::TestBatch;
using testing::view;

constexpr int kRows = 7;  // slots 0, 1 for the sequences; 2.. for snapshots

// The tokens [first, first + n) of a row-per-token array of width w.
std::vector<float> slice(const std::vector<float>& a, int w, int first, int n) {
    return {a.begin() + long(first) * w, a.begin() + long(first + n) * w};
}

struct DeltaInputs {
    int n, nk = 1, nv = 2, d = 32;
    std::vector<float> q, k, v, g, beta;
    explicit DeltaInputs(int n_, uint32_t seed) : n(n_) {
        q = random_floats(size_t(n * nk * d), -1, 1, seed);
        k = random_floats(size_t(n * nk * d), -1, 1, seed + 1);
        v = random_floats(size_t(n * nv * d), -1, 1, seed + 2);
        g = random_floats(size_t(n * nv), -2.0f, -0.01f, seed + 3);
        beta = random_floats(size_t(n * nv), 0.0f, 1.0f, seed + 4);
    }
    DeltaInputs part(int first, int len) const {
        DeltaInputs p = *this;
        p.n = len;
        p.q = slice(q, nk * d, first, len), p.k = slice(k, nk * d, first, len), p.v = slice(v, nv * d, first, len);
        p.g = slice(g, nv, first, len), p.beta = slice(beta, nv, first, len);
        return p;
    }
    int64_t state_width() const { return int64_t(nv) * d * d; }
    // Runs the op; returns the output (state updated in place).
    std::vector<float> run(CpuBackend& be, std::vector<float>& state, const backend::RecurrentLayout& l) {
        std::vector<float> out(size_t(n * nv * d));
        backend::DeltaRuleParams p;
        p.n_k_heads = nk, p.n_v_heads = nv, p.head_dim = d, p.scale = 1.0f / std::sqrt(float(d));
        p.l2_norm = true, p.l2_eps = 1e-6f, p.form = backend::DeltaRuleForm::Recurrent;
        be.gated_delta_rule(view(q, n, nk * d), view(k, n, nk * d), view(v, n, nv * d), view(g, n, nv),
                            view(beta, n, nv), view(state, kRows, state_width()), l, p, view(out, n, nv * d));
        return out;
    }
};

// Sequence 0: 50 fresh tokens (slot 0); sequence 1: 30 tokens from position 10 on a random state (slot 1).
const std::vector<SeqSpec> kSeqs = {{50, 0, 0}, {30, 10, 1}};
const std::vector<StateSnapshot> kSnaps = {{0, 16, 2}, {0, 32, 3}, {0, 50, 4}, {1, 20, 5}, {1, 40, 6}};

TEST(RecurrentSnapshots, DeltaRuleSnapshotsAreThePrefixStates) {
    CpuBackend be(2);
    DeltaInputs in(80, 5);
    const TestBatch b(kSeqs);
    const std::vector<float> state0 = random_floats(size_t(kRows * in.state_width()), -0.5f, 0.5f, 9);
    std::vector<float> plain_state = state0, snap_state = state0;
    const auto plain = in.run(be, plain_state, b.layout());
    backend::RecurrentLayout l = b.layout();
    l.snapshots = kSnaps;
    EXPECT_EQ(in.run(be, snap_state, l), plain);
    const size_t w = size_t(in.state_width());
    for (int slot : {0, 1})  // the sequences' own final states
        EXPECT_TRUE(std::equal(snap_state.begin() + long(slot * w), snap_state.begin() + long((slot + 1) * w),
                               plain_state.begin() + long(slot * w)));
    for (const StateSnapshot& sn : kSnaps) {
        // The sequence's tokens up to the snapshot alone, from its starting state.
        const SeqSpec& spec = kSeqs[size_t(sn.seq)];
        const int first_token = sn.seq == 0 ? 0 : kSeqs[0].n_tokens;
        DeltaInputs alone = in.part(first_token, sn.position - spec.pos0);
        std::vector<float> st = state0;
        alone.run(be, st, TestBatch({{alone.n, spec.pos0, spec.slot}}).layout());
        EXPECT_TRUE(std::equal(st.begin() + long(spec.slot * w), st.begin() + long((spec.slot + 1) * w),
                               snap_state.begin() + long(sn.row * w)))
            << "snapshot of sequence " << sn.seq << " at " << sn.position;
    }
}

TEST(RecurrentSnapshots, ConvSnapshotsAreThePrefixStates) {
    CpuBackend be(2);
    const int C = 100, K = 4, n = 80;  // channels: not a multiple of the kernel's block
    const std::vector<float> x = random_floats(size_t(n * C), -1, 1, 3), w = random_floats(size_t(C * K), -1, 1, 4);
    const std::vector<float> state0 = random_floats(size_t(kRows * (K - 1) * C), -1, 1, 5);
    auto run = [&](std::vector<float> xs, int n_tok, std::vector<float>& st, const backend::RecurrentLayout& l) {
        std::vector<float> out(size_t(n_tok * C));
        std::vector<float> wc = w;
        be.conv1d_causal(view(xs, n_tok, C), view(wc, C, K), view(st, kRows, (K - 1) * C), l, true, view(out, n_tok, C));
        return out;
    };
    const TestBatch b(kSeqs);
    std::vector<float> plain_state = state0, snap_state = state0;
    const auto plain = run(x, n, plain_state, b.layout());
    backend::RecurrentLayout l = b.layout();
    l.snapshots = kSnaps;
    EXPECT_EQ(run(x, n, snap_state, l), plain);
    const size_t sw = size_t((K - 1) * C);
    for (int slot : {0, 1})
        EXPECT_TRUE(std::equal(snap_state.begin() + long(slot * sw), snap_state.begin() + long((slot + 1) * sw),
                               plain_state.begin() + long(slot * sw)));
    for (const StateSnapshot& sn : kSnaps) {
        const SeqSpec& spec = kSeqs[size_t(sn.seq)];
        const int first_token = sn.seq == 0 ? 0 : kSeqs[0].n_tokens, len = sn.position - spec.pos0;
        std::vector<float> st = state0;
        run(slice(x, C, first_token, len), len, st, TestBatch({{len, spec.pos0, spec.slot}}).layout());
        EXPECT_TRUE(std::equal(st.begin() + long(spec.slot * sw), st.begin() + long((spec.slot + 1) * sw),
                               snap_state.begin() + long(sn.row * sw)))
            << "snapshot of sequence " << sn.seq << " at " << sn.position;
    }
}

TEST(RecurrentSnapshots, BadSnapshotsAreRefused) {
    CpuBackend be(1);
    DeltaInputs in(80, 6);
    const TestBatch b(kSeqs);
    std::vector<float> state(size_t(kRows * in.state_width()), 0.0f);
    auto with = [&](std::vector<StateSnapshot> snaps) {
        backend::RecurrentLayout l = b.layout();
        l.snapshots = snaps;
        in.run(be, state, l);
    };
    EXPECT_THROW(with({{0, 0, 2}}), std::invalid_argument);            // at the run's start: nothing run yet
    EXPECT_THROW(with({{0, 51, 2}}), std::invalid_argument);           // past the run's end
    EXPECT_THROW(with({{1, 20, 0}}), std::invalid_argument);           // into a batch sequence's slot
    EXPECT_THROW(with({{0, 32, 2}, {0, 16, 3}}), std::invalid_argument);  // out of order
    EXPECT_THROW(with({{2, 20, 2}}), std::invalid_argument);           // no such sequence
    EXPECT_THROW(with({{0, 16, kRows}}), std::invalid_argument);       // no such row
}

}  // namespace
}  // namespace hotrod::cpu
