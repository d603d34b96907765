// CudaBackend: backend::Backend on one NVIDIA GPU. Owns the stream every op is issued on, the device copies of a
// step's index arrays (begin_step: one host-to-device copy per step, a hybrid model's recurrent layout included), the matmul and attention scratch, and a
// pinned buffer for results the host reads (to_host). Ops are asynchronous: sync() or to_host() waits.
// Weights are uploaded once, in their GGUF block formats, through pinned staging.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/recurrent_runs.h"
#include "cuda/attention.h"
#include "cuda/matmul.h"
#include "cuda/recurrent.h"
#include "cuda/rope_tables.h"
#include "cuda/step_graph.h"

namespace hotrod::cuda {

struct CudaOptions {
    int device = 0;
    double mem_fraction = 0.9;  // share of the GPU's memory hotrod may take
    bool graphs = true;         // decode steps as CUDA graphs (step_graph.h); HOTROD_CUDA_GRAPHS=0 turns them off
    bool fuse = true;           // decode steps' norm / gated activation quantize for the next matmul in the same
                                // launch (ops.h); HOTROD_CUDA_FUSE=0 turns it off
};

// One line per GPU present ("cuda:0 NVIDIA H100 80GB HBM3, compute 9.0, 79.1 GiB"), "" when none.
std::string describe_gpus();
// Whether GPU `index` can run this build's kernels; when not, *why says so (no GPU, old driver, compute capability
// this build has no code for).
bool gpu_usable(int index, std::string* why);

class CudaBackend final : public backend::Backend {
public:
    explicit CudaBackend(const CudaOptions& opt);
    ~CudaBackend() override;

    std::string name() const override;
    bool host_addressable() const override { return false; }
    void to_host(const backend::TensorView& t, void* dst) override;
    void argmax_rows(const backend::TensorView& x, int32_t* ids) override;
    // Greedy-only steps read back ids, not rows, only with HOTROD_CUDA_ARGMAX=1: on an H100 (session 14) its kernel
    // test passed and servers with and without it gave the same greedy texts, but the workload was no faster
    // (p50 within 2%, calls/s at 4 slots 8.06 vs 8.14): the rows' copy is not what a step waits on.
    bool prefers_argmax_rows() const override;
    // Batch invariance runs every prompt run on the chunked delta rule, whose chunks are kDeltaChunkTokens long from
    // a run's first token: a prompt cut and snapshotted only at multiples of it starts every run on the same chunk
    // boundaries cold and resumed, so both sum alike (1 with it off).
    int recurrent_align() const override;
    size_t memory_free() const override;
    void begin_step(const backend::StepIndex& step) override;
    void begin_logits() override { step_.logits = true; }

    std::unique_ptr<backend::Buffer> alloc(size_t bytes) override;
    std::unique_ptr<backend::Buffer> alloc_host(size_t bytes) override;
    backend::TensorView weight(const backend::TensorView& host) override;
    void reserve_workspace(int64_t max_tokens, int64_t max_width) override;

    void embed(const backend::TensorView& table, std::span<const int32_t> ids, float scale,
               backend::TensorView out) override;
    void rms_norm(const backend::TensorView& x, const backend::TensorView& w, float eps,
                  backend::TensorView out) override;
    void rms_norm_heads(backend::TensorView x, const backend::TensorView& w, int head_dim, float eps) override;
    void matmul(const backend::TensorView& w, const backend::TensorView& x, backend::TensorView y) override;
    void matmul_shared(const backend::TensorView& x, std::span<const backend::MatmulOut> outs) override;
    void matmul_residual(const backend::TensorView& w, const backend::TensorView& h, backend::TensorView proj,
                         backend::TensorView x) override;
    void rope(backend::TensorView x, int head_dim, std::span<const int32_t> positions,
              const backend::RopeParams& p) override;
    void kv_store(const backend::KvLayerView& cache, const backend::KvLayout& layout, const backend::TensorView& k,
                  const backend::TensorView& v) override;
    void prepare_attention(backend::TensorView q, backend::TensorView k, const backend::TensorView& v,
                           const backend::AttentionInputs& in, const backend::KvLayerView& cache,
                           const backend::KvLayout& layout) override;
    void attention(const backend::TensorView& q, const backend::KvLayerView& cache, const backend::KvLayout& layout,
                   const backend::AttentionParams& p, backend::TensorView out) override;
    void swiglu(const backend::TensorView& gate, const backend::TensorView& up, backend::TensorView out) override;
    void geglu(const backend::TensorView& gate, const backend::TensorView& up, backend::TensorView out) override;
    void add(backend::TensorView x, const backend::TensorView& y) override;
    void gather_rows(const backend::TensorView& x, std::span<const int32_t> rows, backend::TensorView out) override;
    // The recurrent ops (cuda_backend_recurrent.cpp; kernels in conv.cu, delta_rule.cu, gate.cu, rows.cu).
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
    void sigmoid_gate(backend::TensorView x, const backend::TensorView& gate, int head_dim,
                      int gate_head_stride) override;
    void copy_heads(const backend::TensorView& x, int head_dim, int head_stride, backend::TensorView out) override;
    void sync() override;

    cudaStream_t stream() const { return stream_; }
    const StepGraphStats& graph_stats() const { return graphs_.stats(); }
    void counters(std::vector<backend::BackendCounter>& out) const override;
    size_t weight_bytes() const { return weight_bytes_; }

private:
    // A device copy of a host index array: the step's copy when `host` is one of the spans begin_step registered,
    // else a fresh upload (ops called outside a model step, as the tests do).
    const int32_t* device_ints(std::span<const int32_t> host);
    DeviceKvLayout device_layout(const backend::KvLayout& layout);
    // A recurrent layout checked against a batch of n_tokens and a state of n_slots rows (throws naming op), and its
    // device form: the step's copy when `layout` holds the spans begin_step registered, else a fresh upload.
    DeviceRecurrentLayout device_recurrent(const char* op, const backend::RecurrentLayout& layout, int64_t n_tokens,
                                           int64_t n_slots);
    void free_staging();
    int32_t* upload_ints(const int32_t* host, size_t n);  // into the ad-hoc area, ordered on the stream
    // Packs a step's index arrays into `buf` ([tokens | logit_rows | positions | token_seq | before_blocks |
    // block index]) and returns the layout with offsets into buf in place of device pointers (see with_base).
    struct Packed {
        size_t tokens = 0, logit_rows = 0, positions = 0, token_seq = 0, before_blocks = 0, block_index = 0;
        DeviceKvLayout layout;
    };
    Packed pack(const backend::StepIndex& s, std::vector<int32_t>& buf, std::span<const int32_t> before_blocks = {});
    static DeviceKvLayout with_base(const Packed& p, const int32_t* base);
    // How many leading rows of an op's n_rows-row input take the decode kernels: before begin_logits, ops over all
    // the step's tokens, its generated tokens (StepIndex::decode_tokens; prompt tokens take the prefill kernels);
    // after it, ops over the logits rows, those begin_step chose. Any other rows, a step that did not say, or
    // HOTROD_CUDA_BATCH_INVARIANT=0: -1, the row count decides (decode_rows_by_count).
    int64_t decode_rows(int64_t n_rows) const;
    // Whether every one of n_rows rows is a decode row and one decode launch takes them (the fusions' condition).
    bool decode_sized(int64_t n_rows) const;
    // y = W x, or y += W x with `accumulate` (the decode kernels' epilogue: matmul_residual).
    void matmul_one(const backend::TensorView& w, const backend::TensorView& x, backend::TensorView y, bool x_same,
                    bool accumulate = false);
    // Whether an op writing `out` should also quantize it for the next matmul (a decode-sized step whose last
    // matmul took Q8_K), and the bookkeeping after it did: the next matmul of `out` finds it quantized.
    bool fuse_quant(const backend::TensorView& out) const;
    const float* rope_table(std::span<const int32_t> positions, const backend::RopeParams& p);
    void note_quantized(const backend::TensorView& out);
    void gated(bool swi, const backend::TensorView& gate, const backend::TensorView& up, backend::TensorView out);

    CudaOptions opt_;
    cudaDeviceProp prop_{};
    cudaStream_t stream_ = nullptr;
    Matmul matmul_;
    Attention attention_;
    StepGraphs graphs_;
    size_t weight_bytes_ = 0;
    size_t reserve_bytes_ = 0;  // memory kept free: (1 - mem_fraction) of the card, plus room for scratch growth
    std::vector<void*> weight_blocks_;
    void* staging_[2] = {nullptr, nullptr};  // pinned, for weight uploads; freed by reserve_workspace (load's end)
    cudaEvent_t staged_[2] = {nullptr, nullptr};

    // The step's index arrays: host copies of the registered spans' addresses, and their device copies packed in
    // one buffer (pack's layout).
    struct StepArrays {
        const int32_t* tokens = nullptr;
        size_t n_tokens = 0;
        const int32_t* logit_rows = nullptr;
        size_t n_logit_rows = 0;
        const int32_t* positions = nullptr;
        const int32_t* const* block_tables = nullptr;
        size_t n_seqs = 0;
        int32_t* d_tokens = nullptr;
        int32_t* d_logit_rows = nullptr;
        DeviceKvLayout layout;
        bool valid = false;
        int32_t n_decode = -1;         // StepIndex::decode_tokens (-1: not said)
        int32_t n_decode_logits = -1;  // logits rows that take the decode kernels (see begin_step)
        bool logits = false;           // begin_logits has been called: the ops work on the logits rows

        // A hybrid model's recurrent layout, packed after the block tables ([runs | snaps], recurrent.h); rec_valid
        // only when it passed the checks that need no state tensor (an op repeats them all).
        backend::RecurrentLayout rec;
        DeviceRecurrentLayout d_rec;
        bool rec_valid = false;
    } step_;
    std::vector<int32_t> pack_buf_;
    std::vector<int32_t> rec_buf_, rec_scratch_;  // a recurrent layout's packed form, and the checks' scratch
    std::vector<backend::SequenceRun> rec_runs_;
    std::vector<int> blocks_needed_;
    int32_t* index_host_ = nullptr;  // pinned
    int32_t* index_dev_ = nullptr;
    size_t index_capacity_ = 0;      // int32 elements of both
    int32_t* adhoc_dev_ = nullptr;   // uploads of unregistered spans
    size_t adhoc_capacity_ = 0;
    int32_t* argmax_dev_ = nullptr;   // argmax_rows' ids, and their pinned copy
    int32_t* argmax_host_ = nullptr;
    size_t argmax_capacity_ = 0;

    // Which x the matmul scratch holds quantized (see matmul_one): reused while no other op ran in between. Whether
    // it still holds x's (the view note_quantized last named, no op since):
    bool quantized_x_is(const backend::TensorView& x) const {
        return x.data == last_x_ && x.n_rows == last_x_rows_ && generation_ == last_x_generation_;
    }
    const void* last_x_ = nullptr;
    int64_t last_x_rows_ = 0;
    uint64_t last_x_generation_ = 0;
    uint64_t generation_ = 0;
    quant::DType last_act_ = quant::DType::F32;  // the activation format the last matmul took
    bool fuse_ = true;
    RopeTables rope_tables_;
    bool rope_table_ = true;  // rope angles from rope_tables_ (HOTROD_CUDA_ROPE_TABLE=0: computed per step)
    // prepare_attention in one launch (needs the table; HOTROD_CUDA_FUSE=0 or HOTROD_CUDA_FUSE_ATTN=0: five)
    bool fuse_attention_inputs_ = true;
    bool fuse_attention_quant_ = true;  // a decode step's attention output quantized by the attention kernels
    bool fuse_residual_ = true;  // matmul_residual's epilogue add (HOTROD_CUDA_FUSE_RESIDUAL=0: the three ops)
    bool invariant_ = true;      // kernels chosen by token kind (HOTROD_CUDA_BATCH_INVARIANT=0: by row count)
};

}  // namespace hotrod::cuda
