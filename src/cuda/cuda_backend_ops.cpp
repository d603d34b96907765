// CudaBackend's ops: each checks its arguments (backend_checks.h) and hands its launcher, with the values it
// passes, to the step's graph recorder (step_graph.h), which launches it now or at the step's end. The decode-step
// fusions are decided here: a norm or gated activation that also quantizes its output for the next matmul
// (fuse_quant), q/k/v and gate/up in one launch (matmul_shared), rope angles from the table (rope_tables.h).
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "cuda/backend_checks.h"
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/ops.h"
#include "quant/blocks.h"
#include "quant/types.h"

namespace hotrod::cuda {

using backend::TensorView;
using quant::DType;
using namespace backend_detail;

// --- ops --------------------------------------------------------------------------------------------------------

void CudaBackend::embed(const TensorView& table, std::span<const int32_t> ids, float scale, TensorView out) {
    ++generation_;
    const int64_t n = int64_t(ids.size());
    check_f32("embed", "out", out, n, table.n_cols);
    for (int64_t t = 0; t < n; ++t)
        if (ids[size_t(t)] < 0 || ids[size_t(t)] >= table.n_rows)
            fail("embed", "token id " + std::to_string(ids[size_t(t)]) + " at " + std::to_string(t) +
                              " outside the table of " + std::to_string(table.n_rows) + " rows");
    if (n == 0) return;
    const int32_t* d_ids = device_ints(ids);
    graphs_.issue(
        stream_,
        [](cudaStream_t st, DType type, const void* t, size_t rb, int64_t cols, const int32_t* id, int64_t rows, float sc,
           float* o, int64_t os) { embed_rows(type, t, rb, cols, id, rows, sc, o, os, st); },
        table.type, static_cast<const void*>(table.data), table.row_bytes, table.n_cols, d_ids, n, scale, out.f32(),
        stride_of(out));
}

int64_t CudaBackend::decode_rows(int64_t n_rows) const {
    if (!invariant_ || !step_.valid || step_.n_decode < 0) return -1;
    if (step_.logits) return size_t(n_rows) == step_.n_logit_rows ? step_.n_decode_logits : -1;
    return size_t(n_rows) == step_.n_tokens ? step_.n_decode : -1;
}

bool CudaBackend::decode_sized(int64_t n_rows) const {
    return n_rows >= 1 && n_rows <= kMaxDecodeRows && decode_rows_by_count(n_rows, decode_rows(n_rows)) == n_rows;
}

bool CudaBackend::fuse_quant(const TensorView& out) const {
    return fuse_ && decode_sized(out.n_rows) && last_act_ == DType::Q8_K && out.n_cols % quant::QK_K == 0;
}

void CudaBackend::note_quantized(const TensorView& out) {
    last_x_ = out.data;
    last_x_rows_ = out.n_rows;
    last_x_generation_ = generation_;
}

void CudaBackend::rms_norm(const TensorView& x, const TensorView& w, float eps, TensorView out) {
    ++generation_;
    check_f32("rms_norm", "w", w, 1, x.n_cols);
    check_f32("rms_norm", "x", x, x.n_rows, x.n_cols);
    check_f32("rms_norm", "out", out, x.n_rows, x.n_cols);
    if (x.n_rows == 0) return;
    if (fuse_quant(out) && rms_norm_quant_fits(x.n_cols) && out.data != x.data) {
        matmul_.reserve(x.n_rows, x.n_cols);
        graphs_.issue(
            stream_,
            [](cudaStream_t st, Matmul* m, const float* xp, int64_t xs, const float* wp, float e, int64_t rows,
               int64_t cols, float* o, int64_t os, size_t q_row_bytes, const void* /*scratch*/) {
                cuda::rms_norm_quant_q8_k(xp, xs, wp, e, rows, cols, o, os, m->scratch_for(DType::Q8_K), q_row_bytes,
                                          st);
            },
            &matmul_, static_cast<const float*>(x.f32()), stride_of(x), static_cast<const float*>(w.f32()), eps,
            x.n_rows, x.n_cols, out.f32(), stride_of(out), Matmul::act_row_bytes(DType::Q8_K, x.n_cols),
            matmul_.scratch());
        note_quantized(out);
        return;
    }
    graphs_.issue(
        stream_,
        [](cudaStream_t st, const float* xp, int64_t xs, const float* wp, float e, int64_t rows, int64_t cols, float* o,
           int64_t os) { cuda::rms_norm(xp, xs, wp, e, rows, cols, o, os, st); },
        static_cast<const float*>(x.f32()), stride_of(x), static_cast<const float*>(w.f32()), eps, x.n_rows, x.n_cols,
        out.f32(), stride_of(out));
}

void CudaBackend::rms_norm_heads(TensorView x, const TensorView& w, int head_dim, float eps) {
    ++generation_;
    if (head_dim <= 0 || x.n_cols % head_dim != 0)
        fail("rms_norm_heads", "x " + shape(x) + " is not a whole number of heads of " + std::to_string(head_dim));
    check_f32("rms_norm_heads", "w", w, 1, head_dim);
    check_f32("rms_norm_heads", "x", x, x.n_rows, x.n_cols);
    if (x.n_rows == 0) return;
    graphs_.issue(
        stream_,
        [](cudaStream_t st, float* xp, int64_t xs, const float* wp, int hd, float e, int64_t rows, int64_t cols) {
            cuda::rms_norm_heads(xp, xs, wp, hd, e, rows, cols, st);
        },
        x.f32(), stride_of(x), static_cast<const float*>(w.f32()), head_dim, eps, x.n_rows, x.n_cols);
}

void CudaBackend::matmul_one(const TensorView& w, const TensorView& x, TensorView y, bool x_same, bool accumulate) {
    if (!matmul_supports(w.type)) fail("matmul", "weight type " + std::string(quant::type_name(w.type)) + " has no CUDA kernel");
    check_f32("matmul", "x", x, x.n_rows, w.n_cols);
    check_f32("matmul", "y", y, x.n_rows, w.n_rows);
    if (x.n_rows == 0) return;
    const DeviceWeight dw{w.type, w.data, w.n_rows, w.n_cols, w.row_bytes};
    last_act_ = Matmul::act_type(w.type);
    matmul_.reserve(x.n_rows, x.n_cols);  // now, not inside a deferred launch (a reallocation waits for the device)
    DeviceRows yr = rows_of(y);
    yr.accumulate = accumulate;
    graphs_.issue(
        stream_,
        [](cudaStream_t st, Matmul* m, DeviceWeight wt, DeviceRows xr, DeviceRows yr, bool same, int64_t dec,
           const void* /*scratch*/) { m->run(wt, xr, yr, same, st, dec); },
        &matmul_, dw, rows_of(x), yr, x_same, decode_rows(x.n_rows), matmul_.scratch());
}

void CudaBackend::matmul(const TensorView& w, const TensorView& x, TensorView y) {
    // The quantized x in the scratch is still x's when the last op was a matmul of the same view.
    const bool same = quantized_x_is(x);
    matmul_one(w, x, y, same);
    note_quantized(x);
    if (y.data == x.data) ++generation_;
}

// A decode step's product of a block format adds itself into x in the decode kernel's epilogue (x + W·h: the same
// float add as the add op, so the same bits, one launch less a product: two a layer); otherwise the default's
// matmul, all_reduce and add (and with HOTROD_CUDA_FUSE_RESIDUAL=0 or FUSE=0). proj is then left unwritten.
void CudaBackend::matmul_residual(const TensorView& w, const TensorView& h, TensorView proj, TensorView x) {
    if (!fuse_residual_ || group_size() != 1 || !decode_sized(h.n_rows) ||
        Matmul::act_type(w.type) == DType::F32 || x.data == h.data) {
        Backend::matmul_residual(w, h, proj, x);
        return;
    }
    const bool same = quantized_x_is(h);
    matmul_one(w, h, x, same, /*accumulate=*/true);
    note_quantized(h);
    ++generation_;  // x changed
}

void CudaBackend::matmul_shared(const TensorView& x, std::span<const backend::MatmulOut> outs) {
    bool one_launch = outs.size() >= 2 && outs.size() <= size_t(kMaxSharedOuts) && decode_sized(x.n_rows);
    for (const backend::MatmulOut& o : outs) one_launch = one_launch && o.y.data != x.data;
    if (!one_launch) {
        for (const backend::MatmulOut& o : outs) matmul(o.w, x, o.y);
        return;
    }
    const bool same = quantized_x_is(x);
    SharedOuts so;
    for (const backend::MatmulOut& o : outs) {
        if (!matmul_supports(o.w.type))
            fail("matmul", "weight type " + std::string(quant::type_name(o.w.type)) + " has no CUDA kernel");
        check_f32("matmul", "x", x, x.n_rows, o.w.n_cols);
        check_f32("matmul", "y", o.y, x.n_rows, o.w.n_rows);
        so.w[so.n] = DeviceWeight{o.w.type, o.w.data, o.w.n_rows, o.w.n_cols, o.w.row_bytes};
        so.y[so.n] = rows_of(o.y);
        ++so.n;
    }
    if (x.n_rows > 0) {
        last_act_ = Matmul::act_type(outs.back().w.type);
        matmul_.reserve(x.n_rows, x.n_cols);  // now, not inside a deferred launch
        graphs_.issue(
            stream_,
            [](cudaStream_t st, Matmul* m, SharedOuts o, DeviceRows xr, bool same_x, int64_t dec,
               const void* /*scratch*/) { m->run_shared(o, xr, same_x, st, dec); },
            &matmul_, so, rows_of(x), same, decode_rows(x.n_rows), matmul_.scratch());
    }
    note_quantized(x);
}

// The angle table of these rope parameters covering every position of the step (grown now, before the step's
// launches, when one is past it).
const float* CudaBackend::rope_table(std::span<const int32_t> positions, const backend::RopeParams& p) {
    const int32_t max_pos = *std::max_element(positions.begin(), positions.end());
    return rope_tables_.get(p.n_dims, p.freq_base, p.freq_scale, max_pos, stream_);
}

void CudaBackend::rope(TensorView x, int head_dim, std::span<const int32_t> positions, const backend::RopeParams& p) {
    ++generation_;
    if (head_dim <= 0 || x.n_cols % head_dim != 0 || p.n_dims <= 0 || p.n_dims > head_dim || p.n_dims % 2 != 0)
        fail("rope", "x " + shape(x) + " with head_dim " + std::to_string(head_dim) + " and n_dims " +
                         std::to_string(p.n_dims) + " (needs an even n_dims <= head_dim dividing the row)");
    check_f32("rope", "x", x, int64_t(positions.size()), x.n_cols);
    if (x.n_rows == 0) return;
    const int32_t* d_pos = device_ints(positions);
    if (rope_table_) {
        // The angles from the table of these parameters (rope_tables.h), grown now, before this step's launches,
        // when a position is past it.
        const float* table = rope_table(positions, p);
        graphs_.issue(
            stream_,
            [](cudaStream_t st, float* xp, int64_t xs, int64_t rows, int heads, int hd, const int32_t* pos, bool neox,
               int dims, const float* t) { cuda::rope_from_table(xp, xs, rows, heads, hd, pos, neox, dims, t, st); },
            x.f32(), stride_of(x), x.n_rows, int(x.n_cols / head_dim), head_dim, d_pos,
            p.kind == backend::RopeKind::NeoX, p.n_dims, table);
        return;
    }
    graphs_.issue(
        stream_,
        [](cudaStream_t st, float* xp, int64_t xs, int64_t rows, int heads, int hd, const int32_t* pos, bool neox,
           int dims, float base, float scale) { cuda::rope(xp, xs, rows, heads, hd, pos, neox, dims, base, scale, st); },
        x.f32(), stride_of(x), x.n_rows, int(x.n_cols / head_dim), head_dim, d_pos, p.kind == backend::RopeKind::NeoX,
        p.n_dims, p.freq_base, p.freq_scale);
}

void CudaBackend::kv_store(const backend::KvLayerView& cache, const backend::KvLayout& layout, const TensorView& k,
                           const TensorView& v) {
    ++generation_;
    const int64_t n = int64_t(layout.positions.size());
    const int64_t width = int64_t(cache.n_kv_heads) * cache.head_dim;
    check_f32("kv_store", "k", k, n, width);
    check_f32("kv_store", "v", v, n, width);
    if ((cache.type != DType::F16 && cache.type != DType::Q8_0) || (cache.type == DType::Q8_0 && cache.head_dim % 32 != 0))
        fail("kv_store", "cache type " + std::string(quant::type_name(cache.type)) + " with head_dim " +
                             std::to_string(cache.head_dim) + " (F16, or Q8_0 with head_dim % 32 == 0)");
    if (layout.token_seq.size() != size_t(n) || layout.block_size <= 0) fail("kv_store", "layout does not match the batch");
    if (n == 0) return;
    const DeviceKvLayout dl = device_layout(layout);
    graphs_.issue(
        stream_,
        [](cudaStream_t st, DeviceKvCache c, DeviceKvLayout l, const float* kp, int64_t ks, const float* vp, int64_t vs) {
            cuda::kv_store(c, l, kp, ks, vp, vs, st);
        },
        cache_of(cache), dl, static_cast<const float*>(k.f32()), stride_of(k), static_cast<const float*>(v.f32()),
        stride_of(v));
}

// One launch (attention_inputs.cu) where it fits and fuse_attention_inputs_ is on; else the default's five ops,
// which give the same bits.
void CudaBackend::prepare_attention(TensorView q, TensorView k, const TensorView& v, const backend::AttentionInputs& in,
                                    const backend::KvLayerView& cache, const backend::KvLayout& layout) {
    const int64_t n = int64_t(layout.positions.size());
    const int D = in.head_dim;
    AttentionInputsArgs a;
    if (fuse_attention_inputs_ && n > 0 && D > 0 && q.n_cols % D == 0 && q.n_rows == n && k.n_rows == n && v.n_rows == n &&
        k.n_cols == int64_t(cache.n_kv_heads) * cache.head_dim && v.n_cols == k.n_cols &&
        layout.token_seq.size() == size_t(n) && layout.block_size > 0 && q.type == DType::F32 && k.type == DType::F32 &&
        v.type == DType::F32) {
        a = AttentionInputsArgs{q.f32(), stride_of(q), k.f32(), stride_of(k), v.f32(),
                                stride_of(v), in.q_norm ? static_cast<const float*>(in.q_norm->f32()) : nullptr,
                                in.k_norm ? static_cast<const float*>(in.k_norm->f32()) : nullptr, in.eps,
                                int(q.n_cols / D), D, in.rope.n_dims, in.rope.kind == backend::RopeKind::NeoX, nullptr,
                                cache_of(cache), DeviceKvLayout{}};
    }
    if (a.q == nullptr || !attention_inputs_fit(a) || (in.q_norm && in.q_norm->n_cols != D) ||
        (in.k_norm && in.k_norm->n_cols != D)) {
        Backend::prepare_attention(q, k, v, in, cache, layout);
        return;
    }
    ++generation_;
    a.rope_table = rope_table(layout.positions, in.rope);
    a.layout = device_layout(layout);
    graphs_.issue(stream_, [](cudaStream_t st, AttentionInputsArgs args) { cuda::attention_inputs(args, st); }, a);
}

void CudaBackend::attention(const TensorView& q, const backend::KvLayerView& cache, const backend::KvLayout& layout,
                            const backend::AttentionParams& p, TensorView out) {
    ++generation_;
    const int64_t n = int64_t(layout.positions.size());
    if (p.n_kv_heads <= 0 || p.n_heads % p.n_kv_heads != 0 || p.head_dim != cache.head_dim ||
        p.n_kv_heads != cache.n_kv_heads)
        fail("attention", "heads " + std::to_string(p.n_heads) + "/" + std::to_string(p.n_kv_heads) + " x " +
                              std::to_string(p.head_dim) + " do not match the cache");
    check_f32("attention", "q", q, n, int64_t(p.n_heads) * p.head_dim);
    check_f32("attention", "out", out, n, int64_t(p.n_heads) * p.head_dim);
    if (layout.token_seq.size() != size_t(n) || layout.block_size <= 0) fail("attention", "layout does not match the batch");
    if (n == 0) return;
    const AttentionShape s{p.n_heads, p.n_kv_heads, p.head_dim, p.scale, p.window, p.softcap};
    const DeviceKvLayout dl = device_layout(layout);
    const int64_t dec = decode_rows(n);
    // A growing scratch frees the old one: launches recorded so far, which may name it, go first.
    if (graphs_.recording() && !attention_.scratch_fits(cache_of(cache), dl, s, dec)) graphs_.run_eagerly(stream_);
    const Attention::Plan plan = attention_.plan(cache_of(cache), dl, s, dec);
    // A decode step's output goes on to the o projection: quantized in the attention kernels, not a launch of its own.
    if (fuse_attention_quant_ && fuse_quant(out) && Attention::quantizes_output(plan, s, layout.token_seq)) {
        matmul_.reserve(n, out.n_cols);
        graphs_.issue(
            stream_,
            [](cudaStream_t st, Attention::Plan pl, const float* qp, int64_t qs, DeviceKvCache c, DeviceKvLayout l,
               AttentionShape sh, float* o, int64_t os, Matmul* m, size_t q_row_bytes, const void* /*scratch*/) {
                Attention::launch(pl, qp, qs, c, l, sh, o, os, st, m->scratch_for(DType::Q8_K), q_row_bytes);
            },
            plan, static_cast<const float*>(q.f32()), stride_of(q), cache_of(cache), dl, s, out.f32(), stride_of(out),
            &matmul_, Matmul::act_row_bytes(DType::Q8_K, out.n_cols), matmul_.scratch());
        note_quantized(out);
        return;
    }
    graphs_.issue(
        stream_,
        [](cudaStream_t st, Attention::Plan pl, const float* qp, int64_t qs, DeviceKvCache c, DeviceKvLayout l,
           AttentionShape sh, float* o, int64_t os) { Attention::launch(pl, qp, qs, c, l, sh, o, os, st); },
        plan, static_cast<const float*>(q.f32()), stride_of(q), cache_of(cache), dl, s, out.f32(), stride_of(out));
}

void CudaBackend::gated(bool swi, const TensorView& gate, const TensorView& up, TensorView out) {
    ++generation_;
    const char* op = swi ? "swiglu" : "geglu";
    check_f32(op, "up", up, gate.n_rows, gate.n_cols);
    check_f32(op, "out", out, gate.n_rows, gate.n_cols);
    if (gate.n_rows == 0) return;
    const auto g = static_cast<const float*>(gate.f32());
    const auto u = static_cast<const float*>(up.f32());
    if (fuse_quant(out)) {
        matmul_.reserve(gate.n_rows, gate.n_cols);
        graphs_.issue(
            stream_,
            [](cudaStream_t st, bool s, Matmul* m, const float* gp, int64_t gs, const float* upp, int64_t us, float* o,
               int64_t os, int64_t rows, int64_t cols, size_t q_row_bytes, const void* /*scratch*/) {
                void* q = m->scratch_for(DType::Q8_K);
                if (s) cuda::swiglu_quant_q8_k(gp, gs, upp, us, o, os, rows, cols, q, q_row_bytes, st);
                else cuda::geglu_quant_q8_k(gp, gs, upp, us, o, os, rows, cols, q, q_row_bytes, st);
            },
            swi, &matmul_, g, stride_of(gate), u, stride_of(up), out.f32(), stride_of(out), gate.n_rows, gate.n_cols,
            Matmul::act_row_bytes(DType::Q8_K, gate.n_cols), matmul_.scratch());
        note_quantized(out);
        return;
    }
    graphs_.issue(
        stream_,
        [](cudaStream_t st, bool s, const float* gp, int64_t gs, const float* upp, int64_t us, float* o, int64_t os,
           int64_t rows, int64_t cols) {
            if (s) cuda::swiglu(gp, gs, upp, us, o, os, rows, cols, st);
            else cuda::geglu(gp, gs, upp, us, o, os, rows, cols, st);
        },
        swi, g, stride_of(gate), u, stride_of(up), out.f32(), stride_of(out), gate.n_rows, gate.n_cols);
}

void CudaBackend::swiglu(const TensorView& gate, const TensorView& up, TensorView out) { gated(true, gate, up, out); }

void CudaBackend::geglu(const TensorView& gate, const TensorView& up, TensorView out) { gated(false, gate, up, out); }

void CudaBackend::add(TensorView x, const TensorView& y) {
    ++generation_;
    check_f32("add", "x", x, x.n_rows, x.n_cols);
    check_f32("add", "y", y, x.n_rows, x.n_cols);
    if (x.n_rows == 0) return;
    graphs_.issue(
        stream_,
        [](cudaStream_t st, float* xp, int64_t xs, const float* yp, int64_t ys, int64_t rows, int64_t cols) {
            cuda::add(xp, xs, yp, ys, rows, cols, st);
        },
        x.f32(), stride_of(x), static_cast<const float*>(y.f32()), stride_of(y), x.n_rows, x.n_cols);
}

void CudaBackend::gather_rows(const TensorView& x, std::span<const int32_t> rows, TensorView out) {
    ++generation_;
    check_f32("gather_rows", "out", out, int64_t(rows.size()), x.n_cols);
    for (size_t i = 0; i < rows.size(); ++i)
        if (rows[i] < 0 || rows[i] >= x.n_rows) fail("gather_rows", "row " + std::to_string(rows[i]) + " outside x " + shape(x));
    if (rows.empty()) return;
    const int32_t* d_rows = device_ints(rows);
    graphs_.issue(
        stream_,
        [](cudaStream_t st, const float* xp, int64_t xs, const int32_t* r, int64_t n, int64_t cols, float* o,
           int64_t os) { cuda::gather_rows(xp, xs, r, n, cols, o, os, st); },
        static_cast<const float*>(x.f32()), stride_of(x), d_rows, int64_t(rows.size()), x.n_cols, out.f32(),
        stride_of(out));
}

}  // namespace hotrod::cuda
