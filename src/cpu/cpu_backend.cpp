// CpuBackend: argument checks, the row / task split of each op over the thread pool, and the caches that keep
// a decode step cheap (quantized x shared by consecutive matmuls, RoPE cos/sin tables shared by q, k and layers).
#include "cpu/cpu_backend.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

#include "cpu/backend_checks.h"
#include "cpu/cpu_features.h"
#include "cpu/ops_embed.h"
#include "cpu/ops_kv.h"
#include "cpu/op_profile.h"
#include "cpu/ops_rope.h"
#include "quant/types.h"

namespace hotrod::cpu {

using backend::TensorView;
using quant::DType;

namespace {

// Below this many elements of work an op runs on the calling thread: a pool dispatch costs a few
// microseconds, about what one core needs for ~30k multiply-adds.
constexpr int64_t kInlineWork = 32768;

class CpuBuffer final : public backend::Buffer {
public:
    explicit CpuBuffer(size_t bytes)
        : bytes_(bytes), data_(::operator new((bytes + 63) / 64 * 64 + 64, std::align_val_t(64))) {}
    ~CpuBuffer() override { ::operator delete(data_, std::align_val_t(64)); }
    void* data() override { return data_; }
    size_t bytes() const override { return bytes_; }

private:
    size_t bytes_;
    void* data_;
};

using checks::check_f32;
using checks::fail;
using checks::row_f32;
using checks::shape;

bool same_params(const backend::RopeParams& a, const backend::RopeParams& b) {
    return a.kind == b.kind && a.n_dims == b.n_dims && a.freq_base == b.freq_base && a.freq_scale == b.freq_scale;
}

}  // namespace

CpuBackend::CpuBackend(int n_threads) : CpuBackend(n_threads, detect_isa()) {}

CpuBackend::CpuBackend(int n_threads, Isa isa)
    : isa_(isa),
      pool_(n_threads),
      rms_norm_row_(find_rms_norm_row(isa)),
      swiglu_(find_swiglu(isa)),
      geglu_(find_geglu(isa)),
      attention_f16_(find_attention_kernels(DType::F16, isa)),
      attention_q8_0_(find_attention_kernels(DType::Q8_0, isa)) {}

std::string CpuBackend::name() const {
    return "cpu-" + std::string(isa_name(isa_)) + " (" + std::to_string(pool_.n_threads()) + " threads)";
}

void CpuBackend::reserve(int64_t max_tokens, int64_t max_n_in) {
    ws_.reserve(max_tokens, max_n_in);
    for (auto& c : quantized_x_) c.valid = false;  // buffers may have moved
}

std::unique_ptr<backend::Buffer> CpuBackend::alloc(size_t bytes) { return std::make_unique<CpuBuffer>(bytes); }

TensorView CpuBackend::weight(const TensorView& host) { return host; }

template <class F>
void CpuBackend::for_rows(int64_t n_rows, int64_t work_per_row, F&& fn) {
    if (n_rows <= 0) return;
    if (pool_.n_threads() == 1 || n_rows == 1 || n_rows * work_per_row < kInlineWork) {
        fn(int64_t(0), n_rows);
        return;
    }
    // ~4 chunks per thread so a preempted thread's share is picked up by the others.
    const int64_t n_chunks = std::min<int64_t>(n_rows, int64_t(pool_.n_threads()) * 4);
    pool_.run_tasks(n_chunks, [&](int64_t c, int) { fn(c * n_rows / n_chunks, (c + 1) * n_rows / n_chunks); });
}

void CpuBackend::embed(const TensorView& table, std::span<const int32_t> ids, float scale, TensorView out) {
    const OpTimer timer("embed");
    ++generation_;
    const int64_t n = int64_t(ids.size());
    check_f32("embed", "out", out, n, table.n_cols);
    if (!quant::type_info(table.type).can_dequantize) fail("embed", "table type " + shape(table) + " has no dequantizer");
    for (int64_t t = 0; t < n; ++t) {
        if (ids[t] < 0 || ids[t] >= table.n_rows) {
            fail("embed", "token id " + std::to_string(ids[t]) + " at " + std::to_string(t) + " outside the table of " +
                              std::to_string(table.n_rows) + " rows");
        }
    }
    for_rows(n, table.n_cols, [&](int64_t r0, int64_t r1) {
        for (int64_t t = r0; t < r1; ++t) {
            embed_row(table.type, static_cast<const char*>(table.data) + size_t(ids[t]) * table.row_bytes, table.n_cols,
                      scale, row_f32(out, t));
        }
    });
}

void CpuBackend::rms_norm(const TensorView& x, const TensorView& w, float eps, TensorView out) {
    const OpTimer timer("rms_norm");
    ++generation_;
    check_f32("rms_norm", "w", w, 1, x.n_cols);
    check_f32("rms_norm", "x", x, x.n_rows, x.n_cols);
    check_f32("rms_norm", "out", out, x.n_rows, x.n_cols);
    for_rows(x.n_rows, x.n_cols, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) rms_norm_row_(row_f32(x, r), w.f32(), eps, x.n_cols, row_f32(out, r));
    });
}

void CpuBackend::rms_norm_heads(TensorView x, const TensorView& w, int head_dim, float eps) {
    const OpTimer timer("rms_norm_heads");
    ++generation_;
    if (head_dim <= 0 || x.n_cols % head_dim != 0) {
        fail("rms_norm_heads", "x " + shape(x) + " is not a whole number of heads of " + std::to_string(head_dim));
    }
    check_f32("rms_norm_heads", "w", w, 1, head_dim);
    check_f32("rms_norm_heads", "x", x, x.n_rows, x.n_cols);
    const int64_t n_heads = x.n_cols / head_dim;
    for_rows(x.n_rows, x.n_cols, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            float* row = row_f32(x, r);
            for (int64_t h = 0; h < n_heads; ++h) rms_norm_row_(row + h * head_dim, w.f32(), eps, head_dim, row + h * head_dim);
        }
    });
}

Activations CpuBackend::quantized(const TensorView& x, DType act) {
    if (act == DType::F32) return quantize_activations(pool_, isa_, act, x.f32(), x.n_rows, x.n_cols, ws_);
    QuantizedX& c = quantized_x_[act == DType::Q8_K ? 1 : act == DType::Q8_1 ? 2 : 0];
    if (!(c.valid && c.data == x.data && c.n_rows == x.n_rows && c.n_cols == x.n_cols && c.generation == generation_)) {
        if (x.n_rows > ws_.max_tokens() || x.n_cols > ws_.max_n_in()) {
            reserve(std::max(x.n_rows, ws_.max_tokens()), std::max(x.n_cols, ws_.max_n_in()));
        }
        c.xq = quantize_activations(pool_, isa_, act, x.f32(), x.n_rows, x.n_cols, ws_);
        c.valid = true;
        c.data = x.data;
        c.n_rows = x.n_rows;
        c.n_cols = x.n_cols;
        c.generation = generation_;
    }
    return c.xq;
}

void CpuBackend::forget_quantized_under(const TensorView& y) {
    // y overwriting a cached x (in-place use) makes that cache stale.
    const auto* y0 = static_cast<const char*>(y.data);
    const auto* y1 = y0 + size_t(y.n_rows) * size_t(y.n_cols) * 4;
    for (auto& c : quantized_x_) {
        const auto* x0 = static_cast<const char*>(c.data);
        if (c.valid && x0 < y1 && y0 < x0 + size_t(c.n_rows) * size_t(c.n_cols) * 4) c.valid = false;
    }
}

void CpuBackend::check_matmul(const TensorView& w, const TensorView& x, const TensorView& y) {
    check_f32("matmul", "x", x, x.n_rows, w.n_cols);
    check_f32("matmul", "y", y, x.n_rows, w.n_rows);
    if ((x.n_rows > 1 && x.row_bytes != size_t(x.n_cols) * 4) || (y.n_rows > 1 && y.row_bytes != size_t(y.n_cols) * 4)) {
        fail("matmul", "x and y rows must be densely packed");
    }
}

void CpuBackend::matmul(const TensorView& w, const TensorView& x, TensorView y) {
    // Per weight type, shape and GEMV/GEMM, so the profile says which matrices the time goes to.
    const OpTimer timer("matmul", op_profile_enabled() ? std::string(quant::type_name(w.type)) + " " +
                                                              std::to_string(w.n_rows) + "x" + std::to_string(w.n_cols) +
                                                              (x.n_rows > kMaxGemvTokens ? " gemm" : " gemv")
                                                        : std::string());
    check_matmul(w, x, y);
    const WeightMatrix wm{w.type, w.data, w.n_rows, w.n_cols, w.row_bytes};
    matmul_quantized(pool_, isa_, wm, quantized(x, activation_type(w.type)), y.f32());
    forget_quantized_under(y);
}

void CpuBackend::matmul_shared(const TensorView& x, std::span<const backend::MatmulOut> outs) {
    if (outs.size() > kMaxSharedProducts || x.n_rows > kMaxGemvTokens) {  // GEMM: one dispatch each costs nothing extra
        for (const backend::MatmulOut& o : outs) matmul(o.w, x, o.y);
        return;
    }
    const OpTimer timer("matmul", op_profile_enabled() ? "shared x" + std::to_string(outs.size()) + " gemv" : std::string());
    std::array<WeightMatrix, kMaxSharedProducts> wms;
    std::array<Activations, kMaxSharedProducts> xqs;
    std::array<float*, kMaxSharedProducts> ys;
    for (size_t i = 0; i < outs.size(); ++i) {
        const TensorView& w = outs[i].w;
        check_matmul(w, x, outs[i].y);
        wms[i] = {w.type, w.data, w.n_rows, w.n_cols, w.row_bytes};
        xqs[i] = quantized(x, activation_type(w.type));
        ys[i] = outs[i].y.f32();
    }
    matmul_quantized_many(pool_, isa_, std::span(wms.data(), outs.size()), std::span(xqs.data(), outs.size()),
                          std::span(ys.data(), outs.size()));
    for (const backend::MatmulOut& o : outs) forget_quantized_under(o.y);
}

const float* CpuBackend::rope_table_for(std::span<const int32_t> positions, const backend::RopeParams& p) {
    ++rope_uses_;
    RopeTable* oldest = &rope_tables_[0];
    for (auto& t : rope_tables_) {
        if (same_params(t.p, p) && std::equal(positions.begin(), positions.end(), t.positions.begin(), t.positions.end())) {
            t.last_use = rope_uses_;
            return t.cos_sin.data();
        }
        if (t.last_use < oldest->last_use) oldest = &t;
    }
    oldest->p = p;
    oldest->positions.assign(positions.begin(), positions.end());
    oldest->cos_sin.resize(positions.size() * size_t(p.n_dims / 2) * 2);
    oldest->last_use = rope_uses_;
    rope_table(positions.data(), int64_t(positions.size()), p, oldest->cos_sin.data());
    return oldest->cos_sin.data();
}

void CpuBackend::rope(TensorView x, int head_dim, std::span<const int32_t> positions, const backend::RopeParams& p) {
    const OpTimer timer("rope");
    ++generation_;
    if (head_dim <= 0 || x.n_cols % head_dim != 0 || p.n_dims <= 0 || p.n_dims > head_dim || p.n_dims % 2 != 0) {
        fail("rope", "x " + shape(x) + " with head_dim " + std::to_string(head_dim) + " and n_dims " +
                         std::to_string(p.n_dims) + " (needs an even n_dims <= head_dim dividing the row)");
    }
    check_f32("rope", "x", x, int64_t(positions.size()), x.n_cols);
    const float* table = rope_table_for(positions, p);
    const int n_heads = int(x.n_cols / head_dim);
    const size_t stride = x.row_bytes / sizeof(float);
    for_rows(x.n_rows, x.n_cols, [&](int64_t r0, int64_t r1) {
        rope_apply(row_f32(x, r0), r1 - r0, stride, n_heads, head_dim, p.kind, p.n_dims, table + r0 * p.n_dims);
    });
}

void CpuBackend::kv_store(const backend::KvLayerView& cache, const backend::KvLayout& layout, const TensorView& k,
                          const TensorView& v) {
    const OpTimer timer("kv_store");
    ++generation_;
    const int64_t n = int64_t(layout.positions.size());
    const int64_t width = int64_t(cache.n_kv_heads) * cache.head_dim;
    check_f32("kv_store", "k", k, n, width);
    check_f32("kv_store", "v", v, n, width);
    const KvRowStoreFn store = find_kv_row_store(cache.type, isa_);
    const auto row_bytes = quant::row_bytes(cache.type, width);
    if (!store || !row_bytes || (cache.type == DType::Q8_0 && cache.head_dim % 32 != 0)) {
        fail("kv_store", "cache type " + std::string(quant::type_name(cache.type)) + " with head_dim " +
                             std::to_string(cache.head_dim) + " (F16, or Q8_0 with head_dim % 32 == 0)");
    }
    if (layout.token_seq.size() != size_t(n) || layout.block_size <= 0) fail("kv_store", "layout does not match the batch");
    for_rows(n, 2 * width, [&](int64_t r0, int64_t r1) {
        for (int64_t t = r0; t < r1; ++t) {
            const int64_t slot = kv_slot(layout.block_tables[layout.token_seq[t]], layout.block_size, layout.positions[t]);
            store(row_f32(k, t), static_cast<uint8_t*>(cache.k) + size_t(slot) * *row_bytes, width);
            store(row_f32(v, t), static_cast<uint8_t*>(cache.v) + size_t(slot) * *row_bytes, width);
        }
    });
}

void CpuBackend::attention(const TensorView& q, const backend::KvLayerView& cache, const backend::KvLayout& layout,
                           const backend::AttentionParams& p, TensorView out) {
    const OpTimer timer("attention");
    ++generation_;
    const int64_t n_tokens = int64_t(layout.positions.size());
    if (p.n_kv_heads <= 0 || p.n_heads % p.n_kv_heads != 0 || p.n_heads / p.n_kv_heads > 64 || p.head_dim <= 0 ||
        cache.n_kv_heads != p.n_kv_heads ||
        cache.head_dim != p.head_dim || !is_kv_cache_type(cache.type) ||
        (cache.type == DType::Q8_0 && p.head_dim % 32 != 0)) {
        fail("attention", "heads " + std::to_string(p.n_heads) + "/" + std::to_string(p.n_kv_heads) + " x " +
                              std::to_string(p.head_dim) + " do not fit the cache (" +
                              std::string(quant::type_name(cache.type)) + ", " + std::to_string(cache.n_kv_heads) +
                              " x " + std::to_string(cache.head_dim) + ")");
    }
    const int64_t width = int64_t(p.n_heads) * p.head_dim;
    check_f32("attention", "q", q, n_tokens, width);
    check_f32("attention", "out", out, n_tokens, width);
    if (layout.token_seq.size() != size_t(n_tokens) || layout.block_size <= 0) {
        fail("attention", "layout does not match the batch");
    }
    AttentionJob job;
    job.q = q.f32();
    job.q_stride = q.row_bytes / sizeof(float);
    job.out = out.f32();
    job.out_stride = out.row_bytes / sizeof(float);
    job.kv_type = cache.type;
    job.k = static_cast<const uint8_t*>(cache.k);
    job.v = static_cast<const uint8_t*>(cache.v);
    job.kv_row_bytes = *quant::row_bytes(cache.type, int64_t(cache.n_kv_heads) * cache.head_dim);
    job.n_heads = p.n_heads;
    job.n_kv_heads = p.n_kv_heads;
    job.head_dim = p.head_dim;
    job.scale = p.scale;
    job.softcap = p.softcap;
    job.window = p.window;
    job.positions = layout.positions.data();
    job.token_seq = layout.token_seq.data();
    job.block_tables = layout.block_tables.data();
    job.block_size = layout.block_size;
    const AttentionKernels kern = cache.type == DType::Q8_0 ? attention_q8_0_ : attention_f16_;
    const int group = p.n_heads / p.n_kv_heads;

    int64_t work = 0, longest = 0;
    for (int64_t t = 0; t < n_tokens; ++t) {
        int32_t first = 0, end = 0;
        attention_range(job, t, first, end);
        work += int64_t(end - first);
        longest = std::max<int64_t>(longest, end - first);
    }
    work *= width;
    const int64_t n_units = n_tokens * p.n_kv_heads;
    const int n_threads = pool_.n_threads();
    const size_t unit_scratch = size_t(group) * size_t(longest);  // the scores of one unit

    // Prefill: consecutive tokens of a sequence go as tiles (lone tokens in the same batch as units), one
    // task per (tile, KV head), heaviest first.
    if (kern.tile) {
        attention_plan_tiles(job, n_tokens, attn_tiles_);
        if (int64_t(attn_tiles_.size()) < n_tokens) {
            const size_t tile_scratch = attention_tile_scratch_floats(job, attn_tiles_);
            const int64_t n_tasks = int64_t(attn_tiles_.size()) * p.n_kv_heads;
            const bool inline_run = n_threads == 1 || work < kInlineWork;
            attn_scratch_.resize(tile_scratch * size_t(inline_run ? 1 : n_threads));
            auto run_task = [&](int64_t task, int thread_id) {
                attention_tile_task(job, kern, attn_tiles_[size_t(task / p.n_kv_heads)], int(task % p.n_kv_heads),
                                    attn_scratch_.data() + tile_scratch * size_t(thread_id));
            };
            if (inline_run) {
                for (int64_t task = 0; task < n_tasks; ++task) run_task(task, 0);
            } else {
                pool_.run_tasks(n_tasks, run_task);
            }
            return;
        }
    }
    if (n_threads == 1 || work < kInlineWork) {
        attn_scratch_.resize(unit_scratch);
        for (int64_t u = 0; u < n_units; ++u) {
            attention_unit(job, kern, u / p.n_kv_heads, int(u % p.n_kv_heads), attn_scratch_.data());
        }
        return;
    }
    // Split each (token, group) over positions when there are too few of them to keep every thread busy
    // (a decode step of a model with one or two KV heads), in pieces of at least 128 positions.
    int n_splits = 1;
    if (n_units < 2 * n_threads) {
        n_splits = int(std::min<int64_t>((2 * n_threads + n_units - 1) / n_units, std::max<int64_t>(1, longest / 128)));
        n_splits = std::max(std::min(n_splits, 64), 1);
    }
    if (n_splits == 1) {
        attn_scratch_.resize(unit_scratch * size_t(n_threads));
        pool_.run_tasks(n_units, [&](int64_t u, int thread_id) {
            attention_unit(job, kern, u / p.n_kv_heads, int(u % p.n_kv_heads),
                           attn_scratch_.data() + unit_scratch * size_t(thread_id));
        });
        return;
    }
    // Split: scores per (unit, part), the parts' softmax merged per unit, values per (unit, part), parts added.
    const int64_t n_tasks = n_units * n_splits;
    const size_t part_scores = size_t(group) * size_t(longest / n_splits + 1);
    const size_t part_acc = size_t(group) * size_t(p.head_dim);
    const size_t part_ml = 2 * size_t(group);
    attn_scratch_.resize(size_t(n_tasks) * (part_scores + part_acc + part_ml) + size_t(n_units) * part_ml);
    float* scores = attn_scratch_.data();
    float* accs = scores + size_t(n_tasks) * part_scores;
    float* mls = accs + size_t(n_tasks) * part_acc;
    float* m_invs = mls + size_t(n_tasks) * part_ml;
    auto part = [&](int64_t task, int64_t& t, int& g, int32_t& a, int32_t& b) {
        const int64_t u = task / n_splits;
        const int i = int(task % n_splits);
        t = u / p.n_kv_heads;
        g = int(u % p.n_kv_heads);
        int32_t first = 0, end = 0;
        attention_range(job, t, first, end);
        const int64_t len = end - first;
        a = first + int32_t(len * i / n_splits);
        b = first + int32_t(len * (i + 1) / n_splits);
    };
    pool_.run_tasks(n_tasks, [&](int64_t task, int) {
        int64_t t;
        int g;
        int32_t a, b;
        part(task, t, g, a, b);
        kern.scores(job, t, g, a, b, scores + part_scores * size_t(task), mls + part_ml * size_t(task));
    });
    for (int64_t u = 0; u < n_units; ++u) {
        attention_softmax_merge(job, n_splits, mls + part_ml * size_t(u * n_splits), part_ml, m_invs + part_ml * size_t(u));
    }
    pool_.run_tasks(n_tasks, [&](int64_t task, int) {
        int64_t t;
        int g;
        int32_t a, b;
        part(task, t, g, a, b);
        kern.values(job, t, g, a, b, scores + part_scores * size_t(task), m_invs + part_ml * size_t(task / n_splits),
                    accs + part_acc * size_t(task));
    });
    for (int64_t u = 0; u < n_units; ++u) {
        float* out_u = job.out + size_t(u / p.n_kv_heads) * job.out_stride + size_t(u % p.n_kv_heads) * part_acc;
        const float* acc_u = accs + part_acc * size_t(u * n_splits);
        for (size_t i = 0; i < part_acc; ++i) {
            float sum = 0.0f;
            for (int k = 0; k < n_splits; ++k) sum += acc_u[part_acc * size_t(k) + i];
            out_u[i] = sum;
        }
    }
}

void CpuBackend::gated(GatedActFn fn, const TensorView& gate, const TensorView& up, TensorView out) {
    const OpTimer timer("swiglu/geglu");
    ++generation_;
    check_f32("swiglu/geglu", "gate", gate, gate.n_rows, gate.n_cols);
    check_f32("swiglu/geglu", "up", up, gate.n_rows, gate.n_cols);
    check_f32("swiglu/geglu", "out", out, gate.n_rows, gate.n_cols);
    // Activations cost ~20 flops per element: weigh them so a one-token FFN row (a few thousand) stays inline.
    for_rows(gate.n_rows, gate.n_cols * 4, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) fn(row_f32(gate, r), row_f32(up, r), row_f32(out, r), gate.n_cols);
    });
}

void CpuBackend::swiglu(const TensorView& gate, const TensorView& up, TensorView out) { gated(swiglu_, gate, up, out); }
void CpuBackend::geglu(const TensorView& gate, const TensorView& up, TensorView out) { gated(geglu_, gate, up, out); }

void CpuBackend::add(TensorView x, const TensorView& y) {
    const OpTimer timer("add");
    ++generation_;
    check_f32("add", "x", x, x.n_rows, x.n_cols);
    check_f32("add", "y", y, x.n_rows, x.n_cols);
    for_rows(x.n_rows, x.n_cols, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) add_row(row_f32(x, r), row_f32(y, r), x.n_cols);
    });
}

void CpuBackend::join_group(HostGroup* group, int rank) {
    if (group && (rank < 0 || rank >= group->size()))
        fail("join_group", "rank " + std::to_string(rank) + " of a group of " + std::to_string(group->size()));
    group_ = group;
    rank_ = rank;
}

void CpuBackend::all_reduce(TensorView x) {
    if (!group_ || group_->size() == 1) return;
    const OpTimer timer("all_reduce");
    ++generation_;
    check_f32("all_reduce", "x", x, x.n_rows, x.n_cols);
    if (x.n_rows > 1 && x.row_bytes != size_t(x.n_cols) * sizeof(float)) fail("all_reduce", "x rows must be densely packed");
    group_->all_reduce(rank_, x.f32(), size_t(x.n_rows) * size_t(x.n_cols));
}

void CpuBackend::gather_rows(const TensorView& x, std::span<const int32_t> rows, TensorView out) {
    const OpTimer timer("gather_rows");
    ++generation_;
    check_f32("gather_rows", "out", out, int64_t(rows.size()), x.n_cols);
    for (size_t i = 0; i < rows.size(); ++i) {
        if (rows[i] < 0 || rows[i] >= x.n_rows) {
            fail("gather_rows", "row " + std::to_string(rows[i]) + " outside x " + shape(x));
        }
        std::memmove(row_f32(out, int64_t(i)), row_f32(x, rows[i]), size_t(x.n_cols) * sizeof(float));
    }
}

void CpuBackend::copy_heads(const TensorView& x, int head_dim, int head_stride, TensorView out) {
    const OpTimer timer("copy_heads");
    ++generation_;
    if (head_dim <= 0 || head_stride < head_dim || out.n_cols % head_dim != 0)
        fail("copy_heads", "head_dim " + std::to_string(head_dim) + ", stride " + std::to_string(head_stride) +
                               ", out " + shape(out));
    const int64_t n_heads = out.n_cols / head_dim;
    check_f32("copy_heads", "out", out, x.n_rows, n_heads * head_dim);
    if (x.type != quant::DType::F32 || x.n_cols < (n_heads - 1) * head_stride + head_dim)
        fail("copy_heads", "x " + shape(x) + " is not F32 or too narrow for " + std::to_string(n_heads) + " heads");
    for (int64_t t = 0; t < x.n_rows; ++t)
        for (int64_t h = 0; h < n_heads; ++h)
            std::memcpy(row_f32(out, t) + h * head_dim, row_f32(x, t) + h * head_stride, size_t(head_dim) * sizeof(float));
}

void CpuBackend::sync() { ++generation_; }

}  // namespace hotrod::cpu
