// CpuBackend: backend::Backend on this machine's cores. Owns the thread pool, the activation-quantization
// workspace and the scratch of the ops; picks every kernel once, at construction, from the ISA (cpu_features,
// capped by env HOTROD_ISA). All ops run synchronously: when a call returns its output is written. Small ops
// (a decode step's rows) run on the calling thread, because waking the pool costs more than the work.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/recurrent_runs.h"
#include "cpu/host_group.h"
#include "cpu/matmul.h"
#include "cpu/ops_act.h"
#include "cpu/ops_attention.h"
#include "cpu/ops_norm.h"
#include "cpu/thread_pool.h"

namespace hotrod::cpu {

class CpuBackend : public backend::Backend {
public:
    // n_threads <= 0: one per CPU this process may run on. isa: the kernels to use (default detect_isa()).
    explicit CpuBackend(int n_threads = 0);
    CpuBackend(int n_threads, Isa isa);

    std::string name() const override;
    Isa isa() const { return isa_; }
    ThreadPool& pool() { return pool_; }

    // Sizes the activation workspace up front (else it grows on first use of a larger shape).
    void reserve(int64_t max_tokens, int64_t max_n_in);

    std::unique_ptr<backend::Buffer> alloc(size_t bytes) override;
    backend::TensorView weight(const backend::TensorView& host) override;

    void embed(const backend::TensorView& table, std::span<const int32_t> ids, float scale,
               backend::TensorView out) override;
    void rms_norm(const backend::TensorView& x, const backend::TensorView& w, float eps,
                  backend::TensorView out) override;
    void rms_norm_heads(backend::TensorView x, const backend::TensorView& w, int head_dim, float eps) override;
    void matmul(const backend::TensorView& w, const backend::TensorView& x, backend::TensorView y) override;
    void matmul_shared(const backend::TensorView& x, std::span<const backend::MatmulOut> outs) override;
    void rope(backend::TensorView x, int head_dim, std::span<const int32_t> positions,
              const backend::RopeParams& p) override;
    void kv_store(const backend::KvLayerView& cache, const backend::KvLayout& layout, const backend::TensorView& k,
                  const backend::TensorView& v) override;
    void attention(const backend::TensorView& q, const backend::KvLayerView& cache, const backend::KvLayout& layout,
                   const backend::AttentionParams& p, backend::TensorView out) override;
    void swiglu(const backend::TensorView& gate, const backend::TensorView& up, backend::TensorView out) override;
    void geglu(const backend::TensorView& gate, const backend::TensorView& up, backend::TensorView out) override;
    void add(backend::TensorView x, const backend::TensorView& y) override;
    void gather_rows(const backend::TensorView& x, std::span<const int32_t> rows, backend::TensorView out) override;
    void copy_heads(const backend::TensorView& x, int head_dim, int head_stride, backend::TensorView out) override;
    // Tensor parallelism in one process: this backend becomes rank `rank` of `group` (which outlives it), and
    // all_reduce sums over the group's ranks. Unjoined, all_reduce does nothing (a group of one).
    void join_group(HostGroup* group, int rank);
    void all_reduce(backend::TensorView x) override;
    int group_size() const override { return group_ ? group_->size() : 1; }
    void sync() override;

    // The recurrent ops (cpu_backend_recurrent.cpp).
    void conv1d_causal(const backend::TensorView& x, const backend::TensorView& w, backend::TensorView state,
                       const backend::RecurrentLayout& layout, bool silu, backend::TensorView out) override;
    void gated_delta_rule(const backend::TensorView& q, const backend::TensorView& k, const backend::TensorView& v,
                          const backend::TensorView& g, const backend::TensorView& beta, backend::TensorView state,
                          const backend::RecurrentLayout& layout, const backend::DeltaRuleParams& p,
                          backend::TensorView out) override;
    void delta_gates(const backend::TensorView& alpha, const backend::TensorView& b_logit,
                     const backend::TensorView& a_neg, const backend::TensorView& dt_bias, backend::TensorView g,
                     backend::TensorView beta) override;
    void rms_norm_gated(const backend::TensorView& x, const backend::TensorView& w, const backend::TensorView& z,
                        int head_dim, float eps, backend::TensorView out) override;
    void sigmoid_gate(backend::TensorView x, const backend::TensorView& gate, int head_dim, int gate_head_stride) override;

private:
    // Checks a RecurrentLayout against n_tokens tokens and n_slots state slots and fills rec_runs_ and rec_order_.
    void recurrent_runs(const char* op, const backend::RecurrentLayout& layout, int64_t n_tokens, int64_t n_slots);
    // Runs fn(task, thread_id) for every task: inline when `work` (multiply-adds) is small, else on the pool.
    template <class F>
    void run_tasks_sized(int64_t n_tasks, int64_t work, F&& fn);
    // Runs fn(row_begin, row_end) over [0, n_rows): inline when n_rows * work_per_row is small, else in chunks
    // on the pool.
    template <class F>
    void for_rows(int64_t n_rows, int64_t work_per_row, F&& fn);
    // x quantized for a weight format (F32: x itself), cached until x changes (see quantized_x_).
    Activations quantized(const backend::TensorView& x, quant::DType act);
    void forget_quantized_under(const backend::TensorView& y);
    void check_matmul(const backend::TensorView& w, const backend::TensorView& x, const backend::TensorView& y);
    void gated(GatedActFn fn, const backend::TensorView& gate, const backend::TensorView& up, backend::TensorView out);
    const float* rope_table_for(std::span<const int32_t> positions, const backend::RopeParams& p);

    Isa isa_;
    ThreadPool pool_;
    HostGroup* group_ = nullptr;
    int rank_ = 0;
    Workspace ws_;
    RmsNormRowFn rms_norm_row_;
    GatedActFn swiglu_, geglu_;
    AttentionKernels attention_f16_, attention_q8_0_;

    // The quantized form of the last x per activation format (Q8_0, Q8_K), reused while the same view is
    // multiplied again with no other op in between (generation_ counts every other op).
    struct QuantizedX {
        bool valid = false;
        const void* data = nullptr;
        int64_t n_rows = 0, n_cols = 0;
        uint64_t generation = 0;
        Activations xq{};
    };
    std::array<QuantizedX, 3> quantized_x_;  // Q8_0, Q8_K, Q8_1
    uint64_t generation_ = 0;

    // A few cos/sin tables keyed by (params, positions): q and k of every layer share one per RoPE base.
    struct RopeTable {
        backend::RopeParams p;
        std::vector<int32_t> positions;
        std::vector<float> cos_sin;
        uint64_t last_use = 0;
    };
    std::array<RopeTable, 4> rope_tables_;
    uint64_t rope_uses_ = 0;

    std::vector<AttentionTile> attn_tiles_;  // the prefill tiles of the current attention call
    std::vector<float> attn_scratch_;  // attention scores per thread, or per split: scores, sums, partial outputs

    // The recurrent ops' per-call tables: each batch sequence's run (backend/recurrent_runs.h), the sequences
    // longest first (the order their tasks go out in), and per-thread scratch.
    std::vector<backend::SequenceRun> rec_runs_;
    std::vector<int32_t> rec_slots_;
    std::vector<int32_t> rec_order_;
    std::vector<float> rec_scratch_;
};

}  // namespace hotrod::cpu
