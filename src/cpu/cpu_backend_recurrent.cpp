// CpuBackend's recurrent ops (gated delta net layers, gated attention's output gate): argument checks, the batch
// cut into per-sequence runs, and the task split over the pool. A sequence's work never depends on the other
// sequences of the batch (tasks are per sequence and head or channel block), so a batch gives each sequence the
// bits it gets alone.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "backend/recurrent_runs.h"
#include "cpu/backend_checks.h"
#include "cpu/cpu_backend.h"
#include "cpu/op_profile.h"
#include "cpu/ops_conv.h"
#include "cpu/ops_delta_rule.h"
#include "cpu/ops_gate.h"

namespace hotrod::cpu {

using backend::TensorView;
using quant::DType;

namespace {

// Below this many multiply-adds an op runs on the calling thread (as cpu_backend.cpp's kInlineWork).
constexpr int64_t kInlineWork = 32768;

// DeltaRuleForm::Auto runs the recurrent form at every length on the CPU. Measured (Qwen3.5-4B's 16/32 heads of
// 128, one thread, the baseline build, a shared 2-core host): recurrent 175-260 us per token and layer, chunked
// 200-290 at 1..512 tokens. Both make the same multiply-adds within a third (3 d^2 + 2 C d against 3 d^2 per
// token): the chunked form pays off only once its passes over S run as register-blocked matrix products (SIMD
// work not done yet), which the token loop's matrix-vector passes cannot. The recurrent form also gives a
// sequence the same bits however the scheduler cuts its prompt.
constexpr bool kAutoChunked = false;

using checks::check_f32;
using checks::fail;
using checks::row_f32;
using checks::shape;

inline size_t stride_f32(const TensorView& v) { return v.row_bytes / sizeof(float); }

}  // namespace

template <class F>
void CpuBackend::run_tasks_sized(int64_t n_tasks, int64_t work, F&& fn) {
    if (pool_.n_threads() == 1 || n_tasks == 1 || work < kInlineWork) {
        for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
        return;
    }
    pool_.run_tasks(n_tasks, fn);
}

void CpuBackend::recurrent_runs(const char* op, const backend::RecurrentLayout& layout, int64_t n_tokens,
                                int64_t n_slots) {
    backend::split_sequence_runs("CpuBackend::", op, layout, n_tokens, n_slots, rec_runs_, rec_slots_);
    // Longest first: the order the tasks go out in, so the long runs start early and the pool stays busy.
    rec_order_.resize(rec_runs_.size());
    for (size_t s = 0; s < rec_runs_.size(); ++s) rec_order_[s] = int32_t(s);
    std::stable_sort(rec_order_.begin(), rec_order_.end(), [&](int32_t a, int32_t b) {
        return rec_runs_[size_t(a)].n_tokens > rec_runs_[size_t(b)].n_tokens;
    });
}

void CpuBackend::conv1d_causal(const TensorView& x, const TensorView& w, TensorView state,
                               const backend::RecurrentLayout& layout, bool silu, TensorView out) {
    const OpTimer timer("conv1d_causal");
    ++generation_;
    const int64_t n_tokens = x.n_rows, n_channels = x.n_cols;
    const int64_t K = w.n_cols;
    if (K < 2 || K > kConvMaxKernel) {
        fail("conv1d_causal", "kernel width " + std::to_string(K) + " (2.." + std::to_string(kConvMaxKernel) + ")");
    }
    check_f32("conv1d_causal", "x", x, n_tokens, n_channels);
    check_f32("conv1d_causal", "w", w, n_channels, K);
    check_f32("conv1d_causal", "out", out, n_tokens, n_channels);
    check_f32("conv1d_causal", "state", state, state.n_rows, (K - 1) * n_channels);
    if (w.n_rows > 1 && w.row_bytes != size_t(K) * sizeof(float)) fail("conv1d_causal", "w rows must be packed");
    // In place (out is x, row for row) or disjoint: the kernel reads a token's x before writing its out, so any
    // other overlap would overwrite inputs not yet read.
    if (out.data != x.data) {
        const char* x0 = static_cast<const char*>(x.data);
        const char* o0 = static_cast<const char*>(out.data);
        const size_t x_span = size_t(n_tokens) * x.row_bytes, o_span = size_t(n_tokens) * out.row_bytes;
        if (n_tokens > 0 && x0 < o0 + o_span && o0 < x0 + x_span) fail("conv1d_causal", "out overlaps x without being x");
    } else if (x.row_bytes != out.row_bytes) {
        fail("conv1d_causal", "out is x with another row stride");
    }
    recurrent_runs("conv1d_causal", layout, n_tokens, state.n_rows);
    if (n_tokens == 0) return;

    ConvJob job;
    job.x = x.f32();
    job.x_stride = stride_f32(x);
    job.w = w.f32();
    job.state = state.f32();
    job.state_stride = stride_f32(state);
    job.out = out.f32();
    job.out_stride = stride_f32(out);
    job.n_channels = n_channels;
    job.kernel = int(K);
    job.silu = silu;
    const int64_t n_blocks = (n_channels + kConvBlock - 1) / kConvBlock;
    const int64_t n_seqs = int64_t(rec_order_.size());
    run_tasks_sized(n_seqs * n_blocks, n_tokens * n_channels * K, [&](int64_t task, int) {
        const int32_t s = rec_order_[size_t(task / n_blocks)];
        const int64_t c0 = (task % n_blocks) * kConvBlock, c1 = std::min(c0 + kConvBlock, n_channels);
        const backend::SequenceRun& run = rec_runs_[size_t(s)];
        const int64_t t0 = run.first_token, t1 = t0 + run.n_tokens;
        float* st = row_f32(state, run.slot);
        // The run in pieces that end at the snapshots (the window carries over, so the bits are the same).
        int64_t t = t0;
        bool fresh = run.fresh != 0;
        for (int32_t i = run.snap_first; i < run.snap_first + run.snap_count; ++i) {
            const backend::StateSnapshot& sn = layout.snapshots[size_t(i)];
            const int64_t t_end = t0 + (sn.position - layout.positions[size_t(t0)]);
            conv1d_causal_block(job, t, t_end, st, fresh, c0, c1);
            fresh = false;
            t = t_end;
            float* dst = row_f32(state, sn.row);
            for (int64_t r = 0; r < K - 1; ++r)
                std::memcpy(dst + r * n_channels + c0, st + r * n_channels + c0, size_t(c1 - c0) * sizeof(float));
        }
        if (t < t1) conv1d_causal_block(job, t, t1, st, fresh, c0, c1);
    });
}

void CpuBackend::gated_delta_rule(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& g,
                                  const TensorView& beta, TensorView state, const backend::RecurrentLayout& layout,
                                  const backend::DeltaRuleParams& p, TensorView out) {
    const OpTimer timer("gated_delta_rule");
    ++generation_;
    if (p.n_k_heads <= 0 || p.n_v_heads <= 0 || p.n_v_heads % p.n_k_heads != 0 || p.head_dim <= 0) {
        fail("gated_delta_rule", "heads " + std::to_string(p.n_v_heads) + " value / " + std::to_string(p.n_k_heads) +
                                     " key of " + std::to_string(p.head_dim) +
                                     " (the value heads must be a multiple of the key heads)");
    }
    const int64_t n = q.n_rows;
    const int64_t d = p.head_dim;
    check_f32("gated_delta_rule", "q", q, n, p.n_k_heads * d);
    check_f32("gated_delta_rule", "k", k, n, p.n_k_heads * d);
    check_f32("gated_delta_rule", "v", v, n, p.n_v_heads * d);
    check_f32("gated_delta_rule", "g", g, n, p.n_v_heads);
    check_f32("gated_delta_rule", "beta", beta, n, p.n_v_heads);
    check_f32("gated_delta_rule", "out", out, n, p.n_v_heads * d);
    check_f32("gated_delta_rule", "state", state, state.n_rows, p.n_v_heads * d * d);
    recurrent_runs("gated_delta_rule", layout, n, state.n_rows);
    if (n == 0) return;

    DeltaRuleJob job;
    job.q = q.f32();
    job.q_stride = stride_f32(q);
    job.k = k.f32();
    job.k_stride = stride_f32(k);
    job.v = v.f32();
    job.v_stride = stride_f32(v);
    job.g = g.f32();
    job.g_stride = stride_f32(g);
    job.beta = beta.f32();
    job.beta_stride = stride_f32(beta);
    job.out = out.f32();
    job.out_stride = stride_f32(out);
    job.n_k_heads = p.n_k_heads;
    job.n_v_heads = p.n_v_heads;
    job.head_dim = p.head_dim;
    job.scale = p.scale;
    job.l2_norm = p.l2_norm;
    job.l2_eps = p.l2_eps;

    const int n_threads = pool_.n_threads();
    const size_t per_thread = std::max(delta_rule_chunked_scratch(p.head_dim), delta_rule_recurrent_scratch(p.head_dim));
    if (rec_scratch_.size() < per_thread * size_t(n_threads)) rec_scratch_.resize(per_thread * size_t(n_threads));
    const int64_t n_seqs = int64_t(rec_order_.size());
    run_tasks_sized(n_seqs * p.n_v_heads, n * p.n_v_heads * d * d * 4, [&](int64_t task, int thread_id) {
        const int32_t s = rec_order_[size_t(task / p.n_v_heads)];
        const int head = int(task % p.n_v_heads);
        const backend::SequenceRun& seq = rec_runs_[size_t(s)];
        const int64_t t0 = seq.first_token, t1 = t0 + seq.n_tokens;
        float* S = row_f32(state, seq.slot) + size_t(head) * size_t(d * d);
        if (seq.fresh) std::memset(S, 0, size_t(d * d) * sizeof(float));
        float* scratch = rec_scratch_.data() + per_thread * size_t(thread_id);
        const bool chunked = p.form == backend::DeltaRuleForm::Chunked ||
                             (p.form == backend::DeltaRuleForm::Auto && kAutoChunked);
        auto run = [&](int64_t a, int64_t b) {
            if (a >= b) return;
            if (chunked) delta_rule_chunked(job, a, b, layout.positions[size_t(a)], head, S, scratch);
            else delta_rule_recurrent(job, a, b, head, S, scratch);
        };
        // In pieces that end at the snapshots: the recurrent form gives the same bits cut anywhere.
        int64_t t = t0;
        for (int32_t i = seq.snap_first; i < seq.snap_first + seq.snap_count; ++i) {
            const backend::StateSnapshot& sn = layout.snapshots[size_t(i)];
            const int64_t t_end = t0 + (sn.position - layout.positions[size_t(t0)]);
            run(t, t_end);
            t = t_end;
            std::memcpy(row_f32(state, sn.row) + size_t(head) * size_t(d * d), S, size_t(d * d) * sizeof(float));
        }
        run(t, t1);
    });
}

void CpuBackend::delta_gates(const TensorView& alpha, const TensorView& b_logit, const TensorView& a_neg,
                             const TensorView& dt_bias, TensorView g, TensorView beta) {
    const OpTimer timer("delta_gates");
    ++generation_;
    const int64_t n = alpha.n_rows, n_heads = alpha.n_cols;
    check_f32("delta_gates", "alpha", alpha, n, n_heads);
    check_f32("delta_gates", "b_logit", b_logit, n, n_heads);
    check_f32("delta_gates", "a_neg", a_neg, 1, n_heads);
    check_f32("delta_gates", "dt_bias", dt_bias, 1, n_heads);
    check_f32("delta_gates", "g", g, n, n_heads);
    check_f32("delta_gates", "beta", beta, n, n_heads);
    // A few heads per token: the whole op is smaller than one pool wake-up until a long prefill.
    run_tasks_sized(n, n * n_heads * 16, [&](int64_t t, int) {
        delta_gates_row(row_f32(alpha, t), row_f32(b_logit, t), a_neg.f32(), dt_bias.f32(), n_heads, row_f32(g, t),
                        row_f32(beta, t));
    });
}

void CpuBackend::rms_norm_gated(const TensorView& x, const TensorView& w, const TensorView& z, int head_dim, float eps,
                                TensorView out) {
    const OpTimer timer("rms_norm_gated");
    ++generation_;
    if (head_dim <= 0 || x.n_cols % head_dim != 0) {
        fail("rms_norm_gated", "x " + shape(x) + " is not a whole number of heads of " + std::to_string(head_dim));
    }
    check_f32("rms_norm_gated", "x", x, x.n_rows, x.n_cols);
    check_f32("rms_norm_gated", "w", w, 1, head_dim);
    check_f32("rms_norm_gated", "z", z, x.n_rows, x.n_cols);
    check_f32("rms_norm_gated", "out", out, x.n_rows, x.n_cols);
    const int64_t n_heads = x.n_cols / head_dim;
    run_tasks_sized(x.n_rows, x.n_rows * x.n_cols * 8, [&](int64_t t, int) {
        for (int64_t h = 0; h < n_heads; ++h) {
            const size_t off = size_t(h * head_dim);
            rms_norm_gated_row(row_f32(x, t) + off, w.f32(), row_f32(z, t) + off, eps, head_dim, row_f32(out, t) + off);
        }
    });
}

void CpuBackend::sigmoid_gate(TensorView x, const TensorView& gate, int head_dim, int gate_head_stride) {
    const OpTimer timer("sigmoid_gate");
    ++generation_;
    if (head_dim <= 0 || x.n_cols % head_dim != 0 || gate_head_stride < head_dim) {
        fail("sigmoid_gate", "x " + shape(x) + " with heads of " + std::to_string(head_dim) + " and gate head stride " +
                                 std::to_string(gate_head_stride));
    }
    const int64_t n_heads = x.n_cols / head_dim;
    check_f32("sigmoid_gate", "x", x, x.n_rows, x.n_cols);
    check_f32("sigmoid_gate", "gate", gate, x.n_rows, (n_heads - 1) * gate_head_stride + head_dim);
    run_tasks_sized(x.n_rows, x.n_rows * x.n_cols * 8, [&](int64_t t, int) {
        for (int64_t h = 0; h < n_heads; ++h) {
            sigmoid_gate_row(row_f32(x, t) + h * head_dim, row_f32(gate, t) + h * gate_head_stride, head_dim);
        }
    });
}

}  // namespace hotrod::cpu
