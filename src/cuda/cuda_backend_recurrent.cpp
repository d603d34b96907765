// CudaBackend's recurrent ops (gated delta net layers, gated attention's output gate and query copy): argument checks
// as CpuBackend's (cpu_backend_recurrent.cpp), the batch's sequences packed into RecurrentRun records the kernels
// read from the device (the step's copy from begin_step, or an upload when the layout is not the step's), and the
// launches handed to the step's graph recorder. The delta rule's form is chosen per run from its own length
// (chunked_min_tokens): DeltaRuleForm::Recurrent runs delta_rule.cu's token loop for every run, Chunked
// delta_rule_chunked.cu's chunks for every run, Auto the chunks for runs of kDeltaChunkedMinTokens or more and, under
// batch invariance, for every prompt run, the token loop for the rest (decode); a head_dim the chunked kernel lacks,
// or HOTROD_CUDA_DELTA=recurrent (for comparisons), keeps every run on the token loop.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cuda/backend_checks.h"
#include "cuda/cuda_backend.h"
#include "cuda/ops.h"
#include "cuda/recurrent.h"
#include "cuda/switches.h"

namespace hotrod::cuda {

using backend::TensorView;
using namespace backend_detail;

static_assert(sizeof(RecurrentRun) == kRecurrentRunInts * sizeof(int32_t), "RecurrentRun is packed as int32s");
static_assert(sizeof(RecurrentSnap) == kRecurrentSnapInts * sizeof(int32_t), "RecurrentSnap is packed as int32s");

namespace backend_detail {

void pack_recurrent(const char* op, const backend::RecurrentLayout& L, int64_t n_tokens, int64_t n_slots,
                    std::vector<int32_t>& buf, std::vector<backend::SequenceRun>& runs, std::vector<int32_t>& scratch) {
    backend::split_sequence_runs("CudaBackend::", op, L, n_tokens, n_slots, runs, scratch);
    static_assert(sizeof(RecurrentRun) == sizeof(backend::SequenceRun), "RecurrentRun is SequenceRun's device twin");
    const size_t at = buf.size();
    buf.resize(at + runs.size() * kRecurrentRunInts);
    if (!runs.empty()) std::memcpy(buf.data() + at, runs.data(), runs.size() * sizeof(backend::SequenceRun));
    for (const backend::StateSnapshot& sn : L.snapshots) {
        buf.push_back(sn.position - L.positions[size_t(runs[size_t(sn.seq)].first_token)]);
        buf.push_back(sn.row);
    }
}

}  // namespace backend_detail

namespace {

bool same_span(auto a, auto b) { return a.data() == b.data() && a.size() == b.size(); }

// DeltaRuleArgs::chunked_min_tokens for a call's form (0: every run recurrent).
int chunked_min_tokens(const backend::DeltaRuleParams& p) {
    if (!delta_rule_chunked_supports(p.head_dim) || p.form == backend::DeltaRuleForm::Recurrent) return 0;
    if (p.form == backend::DeltaRuleForm::Chunked) return 1;
    static const bool recurrent_only = switch_is("HOTROD_CUDA_DELTA", "recurrent");
    return recurrent_only ? 0 : kDeltaChunkedMinTokens;
}

}  // namespace

int CudaBackend::recurrent_align() const { return invariant_ ? kDeltaChunkTokens : 1; }

DeviceRecurrentLayout CudaBackend::device_recurrent(const char* op, const backend::RecurrentLayout& L, int64_t n_tokens,
                                                    int64_t n_slots) {
    rec_buf_.clear();
    pack_recurrent(op, L, n_tokens, n_slots, rec_buf_, rec_runs_, rec_scratch_);
    const size_t n_seqs = L.state_slots.size();
    if (step_.valid && step_.rec_valid && same_span(L.positions, step_.rec.positions) &&
        same_span(L.token_seq, step_.rec.token_seq) && same_span(L.state_slots, step_.rec.state_slots) &&
        same_span(L.snapshots, step_.rec.snapshots))
        return step_.d_rec;
    const int32_t* d = upload_ints(rec_buf_.data(), rec_buf_.size());
    return {reinterpret_cast<const RecurrentRun*>(d), reinterpret_cast<const RecurrentSnap*>(d + kRecurrentRunInts * n_seqs),
            int(n_seqs)};
}

void CudaBackend::conv1d_causal(const TensorView& x, const TensorView& w, TensorView state,
                                const backend::RecurrentLayout& layout, bool silu, TensorView out) {
    ++generation_;
    const int64_t n_tokens = x.n_rows, n_channels = x.n_cols, K = w.n_cols;
    if (K < 2 || K > kConvMaxKernel)
        fail("conv1d_causal", "kernel width " + std::to_string(K) + " (2.." + std::to_string(kConvMaxKernel) + ")");
    check_f32("conv1d_causal", "x", x, n_tokens, n_channels);
    check_f32("conv1d_causal", "w", w, n_channels, K);
    check_f32("conv1d_causal", "out", out, n_tokens, n_channels);
    check_f32("conv1d_causal", "state", state, state.n_rows, (K - 1) * n_channels);
    if (w.n_rows > 1 && w.row_bytes != size_t(K) * sizeof(float)) fail("conv1d_causal", "w rows must be packed");
    if (out.data != x.data) {
        const char* x0 = static_cast<const char*>(x.data);
        const char* o0 = static_cast<const char*>(out.data);
        const size_t x_span = size_t(n_tokens) * x.row_bytes, o_span = size_t(n_tokens) * out.row_bytes;
        if (n_tokens > 0 && x0 < o0 + o_span && o0 < x0 + x_span) fail("conv1d_causal", "out overlaps x without being x");
    } else if (x.row_bytes != out.row_bytes) {
        fail("conv1d_causal", "out is x with another row stride");
    }
    if (n_tokens == 0) {
        rec_buf_.clear();
        pack_recurrent("conv1d_causal", layout, 0, state.n_rows, rec_buf_, rec_runs_, rec_scratch_);
        return;
    }
    const DeviceRecurrentLayout dl = device_recurrent("conv1d_causal", layout, n_tokens, state.n_rows);
    graphs_.issue(
        stream_,
        [](cudaStream_t st, const float* xp, int64_t xs, const float* wp, int k, float* sp, int64_t ss, int64_t c,
           bool act, float* o, int64_t os, DeviceRecurrentLayout l) {
            cuda::conv1d_causal(xp, xs, wp, k, sp, ss, c, act, o, os, l, st);
        },
        static_cast<const float*>(x.f32()), stride_of(x), static_cast<const float*>(w.f32()), int(K), state.f32(),
        stride_of(state), n_channels, silu, out.f32(), stride_of(out), dl);
}

void CudaBackend::gated_delta_rule(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& g,
                                   const TensorView& beta, TensorView state, const backend::RecurrentLayout& layout,
                                   const backend::DeltaRuleParams& p, TensorView out) {
    ++generation_;
    if (p.n_k_heads <= 0 || p.n_v_heads <= 0 || p.n_v_heads % p.n_k_heads != 0 || p.head_dim <= 0)
        fail("gated_delta_rule", "heads " + std::to_string(p.n_v_heads) + " value / " + std::to_string(p.n_k_heads) +
                                     " key of " + std::to_string(p.head_dim) +
                                     " (the value heads must be a multiple of the key heads)");
    if (!delta_rule_supports(p.head_dim))
        fail("gated_delta_rule", "head_dim " + std::to_string(p.head_dim) + ": the CUDA kernel takes multiples of 32 up to " +
                                     std::to_string(kDeltaMaxHeadDim));
    const int64_t n = q.n_rows, d = p.head_dim;
    check_f32("gated_delta_rule", "q", q, n, p.n_k_heads * d);
    check_f32("gated_delta_rule", "k", k, n, p.n_k_heads * d);
    check_f32("gated_delta_rule", "v", v, n, p.n_v_heads * d);
    check_f32("gated_delta_rule", "g", g, n, p.n_v_heads);
    check_f32("gated_delta_rule", "beta", beta, n, p.n_v_heads);
    check_f32("gated_delta_rule", "out", out, n, p.n_v_heads * d);
    check_f32("gated_delta_rule", "state", state, state.n_rows, p.n_v_heads * d * d);
    if (n == 0) {
        rec_buf_.clear();
        pack_recurrent("gated_delta_rule", layout, 0, state.n_rows, rec_buf_, rec_runs_, rec_scratch_);
        return;
    }
    const DeviceRecurrentLayout dl = device_recurrent("gated_delta_rule", layout, n, state.n_rows);
    DeltaRuleArgs a;
    a.q = q.f32(), a.q_stride = stride_of(q);
    a.k = k.f32(), a.k_stride = stride_of(k);
    a.v = v.f32(), a.v_stride = stride_of(v);
    a.g = g.f32(), a.g_stride = stride_of(g);
    a.beta = beta.f32(), a.beta_stride = stride_of(beta);
    a.state = state.f32(), a.state_stride = stride_of(state);
    a.out = out.f32(), a.out_stride = stride_of(out);
    a.n_k_heads = p.n_k_heads, a.n_v_heads = p.n_v_heads, a.head_dim = p.head_dim;
    a.scale = p.scale, a.l2_norm = p.l2_norm, a.l2_eps = p.l2_eps;
    a.chunked_min_tokens = chunked_min_tokens(p);
    // Under batch invariance a prompt run takes the chunked form at any length (Auto only), and prompts are cut and
    // snapshotted at multiples of its chunk (recurrent_align), so a prompt's tail resumed from a prefix-cache
    // snapshot starts where a cold run's chunk started and sums what the cold run summed.
    const int64_t n_decode = decode_rows(n);
    if (p.form == backend::DeltaRuleForm::Auto && n_decode >= 0) a.chunked_from_token = int(n_decode);
    a.launch_recurrent = a.chunked_min_tokens == 0;
    a.launch_chunked = false;
    if (a.chunked_min_tokens > 0)
        for (const backend::SequenceRun& r : rec_runs_)
            (takes_chunked(a, r.first_token, r.n_tokens) ? a.launch_chunked : a.launch_recurrent) = true;
    graphs_.issue(
        stream_, [](cudaStream_t st, DeltaRuleArgs args, DeviceRecurrentLayout l) { cuda::gated_delta_rule(args, l, st); },
        a, dl);
}

void CudaBackend::delta_gates(const TensorView& alpha, const TensorView& b_logit, const TensorView& a_neg,
                              const TensorView& dt_bias, TensorView g, TensorView beta) {
    ++generation_;
    const int64_t n = alpha.n_rows, n_heads = alpha.n_cols;
    check_f32("delta_gates", "alpha", alpha, n, n_heads);
    check_f32("delta_gates", "b_logit", b_logit, n, n_heads);
    check_f32("delta_gates", "a_neg", a_neg, 1, n_heads);
    check_f32("delta_gates", "dt_bias", dt_bias, 1, n_heads);
    check_f32("delta_gates", "g", g, n, n_heads);
    check_f32("delta_gates", "beta", beta, n, n_heads);
    if (n == 0) return;
    graphs_.issue(
        stream_,
        [](cudaStream_t st, const float* al, int64_t as, const float* bl, int64_t bs, const float* an, const float* dt,
           int64_t rows, int64_t heads, float* gp, int64_t gs, float* bp, int64_t bts) {
            cuda::delta_gates(al, as, bl, bs, an, dt, rows, heads, gp, gs, bp, bts, st);
        },
        static_cast<const float*>(alpha.f32()), stride_of(alpha), static_cast<const float*>(b_logit.f32()),
        stride_of(b_logit), static_cast<const float*>(a_neg.f32()), static_cast<const float*>(dt_bias.f32()), n, n_heads,
        g.f32(), stride_of(g), beta.f32(), stride_of(beta));
}

void CudaBackend::rms_norm_gated(const TensorView& x, const TensorView& w, const TensorView& z, int head_dim, float eps,
                                 TensorView out) {
    ++generation_;
    if (head_dim <= 0 || x.n_cols % head_dim != 0)
        fail("rms_norm_gated", "x " + shape(x) + " is not a whole number of heads of " + std::to_string(head_dim));
    check_f32("rms_norm_gated", "x", x, x.n_rows, x.n_cols);
    check_f32("rms_norm_gated", "w", w, 1, head_dim);
    check_f32("rms_norm_gated", "z", z, x.n_rows, x.n_cols);
    check_f32("rms_norm_gated", "out", out, x.n_rows, x.n_cols);
    if (x.n_rows == 0) return;
    graphs_.issue(
        stream_,
        [](cudaStream_t st, const float* xp, int64_t xs, const float* wp, const float* zp, int64_t zs, int hd, float e,
           int64_t rows, int64_t cols, float* o, int64_t os) {
            cuda::rms_norm_gated(xp, xs, wp, zp, zs, hd, e, rows, cols, o, os, st);
        },
        static_cast<const float*>(x.f32()), stride_of(x), static_cast<const float*>(w.f32()),
        static_cast<const float*>(z.f32()), stride_of(z), head_dim, eps, x.n_rows, x.n_cols, out.f32(), stride_of(out));
}

void CudaBackend::sigmoid_gate(TensorView x, const TensorView& gate, int head_dim, int gate_head_stride) {
    ++generation_;
    if (head_dim <= 0 || x.n_cols % head_dim != 0 || gate_head_stride < head_dim)
        fail("sigmoid_gate", "x " + shape(x) + " with heads of " + std::to_string(head_dim) + " and gate head stride " +
                                 std::to_string(gate_head_stride));
    const int64_t n_heads = x.n_cols / head_dim;
    check_f32("sigmoid_gate", "x", x, x.n_rows, x.n_cols);
    check_f32("sigmoid_gate", "gate", gate, x.n_rows, (n_heads - 1) * gate_head_stride + head_dim);
    if (x.n_rows == 0 || n_heads == 0) return;
    graphs_.issue(
        stream_,
        [](cudaStream_t st, float* xp, int64_t xs, const float* gp, int64_t gs, int hd, int ghs, int64_t rows,
           int64_t cols) { cuda::sigmoid_gate(xp, xs, gp, gs, hd, ghs, rows, cols, st); },
        x.f32(), stride_of(x), static_cast<const float*>(gate.f32()), stride_of(gate), head_dim, gate_head_stride,
        x.n_rows, x.n_cols);
}

void CudaBackend::copy_heads(const TensorView& x, int head_dim, int head_stride, TensorView out) {
    ++generation_;
    if (head_dim <= 0 || head_stride < head_dim || out.n_cols % head_dim != 0)
        fail("copy_heads", "head_dim " + std::to_string(head_dim) + ", stride " + std::to_string(head_stride) + ", out " +
                               shape(out));
    const int64_t n_heads = out.n_cols / head_dim;
    check_f32("copy_heads", "out", out, x.n_rows, n_heads * head_dim);
    if (x.type != quant::DType::F32 || x.n_cols < (n_heads - 1) * head_stride + head_dim)
        fail("copy_heads", "x " + shape(x) + " is not F32 or too narrow for " + std::to_string(n_heads) + " heads");
    if (x.n_rows == 0 || n_heads == 0) return;
    graphs_.issue(
        stream_,
        [](cudaStream_t st, const float* xp, int64_t xs, int hd, int hs, int64_t rows, int64_t cols, float* o,
           int64_t os) { cuda::copy_heads(xp, xs, hd, hs, rows, cols, o, os, st); },
        static_cast<const float*>(x.f32()), stride_of(x), head_dim, head_stride, x.n_rows, out.n_cols, out.f32(),
        stride_of(out));
}

}  // namespace hotrod::cuda
