// The Backend op set: the only thing model code knows about the hardware. A forward pass is written once
// against these batched ops; src/cpu/ implements them with SIMD kernels and a thread pool, src/cuda/ on a
// stream. Nothing here knows an architecture: ops take views, shapes and parameters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "quant/types.h"

namespace hotrod::backend {

// A view of a 2-D row-major tensor in device memory: n_rows rows of n_cols elements of `type`, rows
// `row_bytes` apart (quantized rows are whole blocks). Activations are F32 with one row per token.
struct TensorView {
    quant::DType type = quant::DType::F32;
    void* data = nullptr;
    int64_t n_rows = 0;
    int64_t n_cols = 0;
    size_t row_bytes = 0;

    float* f32() const { return static_cast<float*>(data); }
    TensorView rows(int64_t first, int64_t count) const {
        return {type, static_cast<char*>(data) + first * row_bytes, count, n_cols, row_bytes};
    }
};

// RoPE variants by how a head's dimensions are paired: Normal rotates (2i, 2i+1), NeoX rotates (i, i + d/2).
enum class RopeKind { Normal, NeoX };

struct RopeParams {
    RopeKind kind = RopeKind::Normal;
    int n_dims = 0;            // rotated dimensions per head (<= head_dim)
    float freq_base = 10000.0f;
    float freq_scale = 1.0f;   // linear position scaling (1 = none)
};

// Where each token of a batch goes in the paged KV cache. Tokens of one sequence are contiguous in the batch
// and in position order; sequence s owns the cache blocks block_table[s][0..], block_size tokens each.
struct KvLayout {
    std::span<const int32_t> positions;     // per token: its position in its sequence
    std::span<const int32_t> token_seq;     // per token: index of its sequence in this batch
    std::span<const int32_t* const> block_tables;  // per sequence: physical block ids, logical order
    int block_size = 0;
};

// One layer's slice of the paged KV cache. k and v each hold n_blocks * block_size rows (one row per cached
// position, physical block b holding rows b*block_size ..) of n_kv_heads * head_dim elements of `type`.
struct KvLayerView {
    quant::DType type = quant::DType::F16;
    void* k = nullptr;
    void* v = nullptr;
    int n_kv_heads = 0;
    int head_dim = 0;
};

// What an attention layer does to its q, k and v rows between the projections and attention (prepare_attention):
// QK-norm of each head of q and k where the weights are given (nullptr: none), rope of both at the batch's
// positions, then k and v into the cache.
struct AttentionInputs {
    const TensorView* q_norm = nullptr;  // head_dim F32 weights, or nullptr
    const TensorView* k_norm = nullptr;
    float eps = 0.0f;
    int head_dim = 0;
    RopeParams rope;
};

struct AttentionParams {
    int n_heads = 0;
    int n_kv_heads = 0;
    int head_dim = 0;
    float scale = 1.0f;        // applied to q·k
    int window = 0;            // sliding window in tokens (0 = full causal)
    float softcap = 0.0f;      // tanh soft-capping of scores (0 = none)
};

// Where each batch token's recurrent state lives (the gated delta net layers of Qwen3.5). As in KvLayout, the
// tokens of a sequence are contiguous and in position order, consecutive positions; batch sequence s reads and
// writes row state_slots[s] of a layer's state tensors (the cache that owns them maps sequences to slots). A
// sequence whose first token in the batch has position 0 starts from a zero state: the slot's old contents are
// never read, so a slot handed to a new sequence needs no clearing.
// A copy of a sequence's state taken inside a recurrent op, for the prefix cache: once the op has run the
// sequence's token at position - 1, its state (covering positions [0, position)) is copied to row `row` of the same
// state tensor, a row no sequence of the batch uses. The op's results are the same with or without it.
struct StateSnapshot {
    int32_t seq;       // batch sequence
    int32_t position;  // after the sequence's first position in the batch, at most one past its last
    int32_t row;
};

struct RecurrentLayout {
    std::span<const int32_t> positions;    // per token: its position in its sequence
    std::span<const int32_t> token_seq;    // per token: index of its batch sequence
    std::span<const int32_t> state_slots;  // per batch sequence: its row in the state tensors, distinct
    std::span<const StateSnapshot> snapshots;  // ordered by sequence, then position
};

// How gated_delta_rule runs a sequence's tokens. Both forms compute the same rule and differ in rounding only
// (the chunked form reorders sums); a backend's Auto choice depends on nothing but the sequence's own tokens.
enum class DeltaRuleForm {
    Auto,       // the backend's faster form (the CPU: Recurrent at every length, see cpu_backend_recurrent.cpp)
    Recurrent,  // token by token
    Chunked,    // chunks of up to 64 tokens (the CPU's end at multiples of 64, CUDA's start at the run's first)
};

// The gated delta rule per value head h, with S a (head_dim x head_dim) state, key index first:
//   S <- exp(g) S;  u = beta (v - S^T k);  S <- S + k u^T;  o = S^T (scale q)
// q and k have n_k_heads heads, v / g / beta / out n_v_heads; value head h reads key head h % n_k_heads (the
// heads tiled, as Qwen3.5's GGUF stores them). With l2_norm, q and k are first divided by sqrt(sum x^2 + l2_eps)
// per head.
struct DeltaRuleParams {
    int n_k_heads = 0;
    int n_v_heads = 0;           // a multiple of n_k_heads
    int head_dim = 0;            // of q, k and v
    float scale = 1.0f;          // applied to q, after the L2 norm (1 / sqrt(head_dim) in Qwen3.5)
    bool l2_norm = false;
    float l2_eps = 0.0f;
    DeltaRuleForm form = DeltaRuleForm::Auto;
};

// One product of Backend::matmul_shared: y = w · x.
struct MatmulOut {
    TensorView w;
    TensorView y;
};

// The small index arrays of one step: its tokens, their positions and sequences with the sequences' block tables,
// the rows that want logits and, for a hybrid model, the recurrent layout (state slots and snapshots; empty spans
// otherwise). Model::forward hands them to Backend::begin_step before the step's first op; a device backend copies
// them to the device there, in one transfer, and the step's ops that are given these same spans (the same data
// pointers and lengths) read that copy instead of uploading their own.
//
// decode_tokens: the step's first decode_tokens tokens continue a generation (sampled tokens, and forced runs after
// the first sample); the rest are prompt tokens. A device backend runs each kind on kernels of its own (decode:
// weight-read-bound; prompt: tensor-core tiles), so a token's numbers depend on its kind and its own inputs, never
// on the batch around it: a prompt's tail after a prefix-cache hit computes what the cold run computed, and a
// request gives the same text alone as beside others. -1: not said (the backend decides by row count).
struct StepIndex {
    std::span<const int32_t> tokens;
    std::span<const int32_t> logit_rows;
    KvLayout layout;
    RecurrentLayout recurrent;
    int32_t decode_tokens = -1;
};

// Owned device memory for activations and caches; allocated at load, never in the step loop.
class Buffer {
public:
    virtual ~Buffer() = default;
    virtual void* data() = 0;
    virtual size_t bytes() const = 0;
};

// A count a backend keeps of its own work (a GPU's CUDA graphs captured and replayed), for /metrics: exported as
// hotrod_backend_<name>_total. name and help are static strings.
struct BackendCounter {
    const char* name = "";
    const char* help = "";
    uint64_t value = 0;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;
    // Appends this backend's counters to out (none here). Called by the thread that runs the steps.
    virtual void counters(std::vector<BackendCounter>& out) const { (void)out; }

    // Whether the host can read this backend's buffers in place (the CPU). When false, results reach the host only
    // through to_host.
    virtual bool host_addressable() const { return true; }
    // Copies a view's n_rows rows (n_cols elements each, packed) to host memory at dst and waits for it.
    virtual void to_host(const TensorView& t, void* dst);
    // ids[r] = the first index of the largest value of row r of x (F32; NaN never wins), -1 where the row holds
    // nothing above -inf: greedy sampling's pick, copied to host memory at ids instead of the rows (a device
    // backend reads back 4 bytes a row, not n_cols floats). Waits for it.
    virtual void argmax_rows(const TensorView& x, int32_t* ids);
    // Whether argmax_rows beats reading the rows on the host (a device that copies back 4 bytes a row): the model
    // takes it for greedy-only steps only then. False here: on the host the sampler's own arg-max is as cheap.
    virtual bool prefers_argmax_rows() const { return false; }
    // Hybrid models: the position multiple at which a prompt's prefill chunks should end and its state snapshots
    // be taken for its numbers not to depend on where it was cut (a backend that runs every prompt run on a chunked
    // delta rule cutting chunks from the run's first token says their length); 1: any position will do.
    virtual int recurrent_align() const { return 1; }
    // Bytes of device memory still free for caches (after weights and activations); 0 where the backend has no
    // fixed pool of its own (host memory).
    virtual size_t memory_free() const { return 0; }
    // Called once per step, before its first op, with the step's index arrays (see StepIndex). The CPU needs none.
    virtual void begin_step(const StepIndex& /*step*/) {}
    // Called by the model's output head before it gathers the step's logits rows: the step's remaining ops work on
    // those rows (at most one a sequence when a server samples them), which a device backend keeps on the kernels
    // of its sampled rows whatever their tokens' kinds (see StepIndex). The CPU needs nothing.
    virtual void begin_logits() {}

    // Memory. `weight` makes a weight usable by the device: zero-copy on the CPU (the mmap), one upload on a GPU.
    virtual std::unique_ptr<Buffer> alloc(size_t bytes) = 0;
    // Host memory the device copies into fastest (pinned on a GPU), for results the host reads (logits).
    virtual std::unique_ptr<Buffer> alloc_host(size_t bytes) { return alloc(bytes); }
    // Sizes scratch for steps of up to max_tokens rows of up to max_width columns now, at load, so the step loop
    // allocates nothing. Optional: scratch otherwise grows on first use.
    virtual void reserve_workspace(int64_t /*max_tokens*/, int64_t /*max_width*/) {}
    virtual TensorView weight(const TensorView& host) = 0;

    // out[t] = table[ids[t]] * scale, dequantized to F32.
    virtual void embed(const TensorView& table, std::span<const int32_t> ids, float scale, TensorView out) = 0;
    // out[t] = x[t] / rms(x[t]) * w, per row; w has one row of n_cols (F32).
    virtual void rms_norm(const TensorView& x, const TensorView& w, float eps, TensorView out) = 0;
    // Same, applied independently to each head_dim-wide slice of every row (QK-norm).
    virtual void rms_norm_heads(TensorView x, const TensorView& w, int head_dim, float eps) = 0;
    // y[t] = W · x[t] for every row t; W has n_rows = output width. Several outputs from one x may share its
    // quantized form: call matmul with the same x view consecutively.
    virtual void matmul(const TensorView& w, const TensorView& x, TensorView y) = 0;
    // outs[i].y = outs[i].w · x for products that read the same x (q/k/v, gate/up), in one call so a backend can
    // run them as one launch. The default is one matmul each.
    virtual void matmul_shared(const TensorView& x, std::span<const MatmulOut> outs) {
        for (const MatmulOut& o : outs) matmul(o.w, x, o.y);
    }
    // In place over x [n_tokens × n_heads*head_dim] at the batch's positions.
    virtual void rope(TensorView x, int head_dim, std::span<const int32_t> positions, const RopeParams& p) = 0;
    // Writes this batch's k and v rows into the cache at their positions.
    virtual void kv_store(const KvLayerView& cache, const KvLayout& layout, const TensorView& k,
                          const TensorView& v) = 0;
    // rms_norm_heads of q and k (where in.q_norm / in.k_norm are given), rope of both at layout.positions, then
    // kv_store of k and v: in place on q and k. The default issues those ops one by one; a device backend may do the
    // whole thing in one launch (five kernels a layer otherwise, each mostly launch latency in a decode step).
    virtual void prepare_attention(TensorView q, TensorView k, const TensorView& v, const AttentionInputs& in,
                                   const KvLayerView& cache, const KvLayout& layout);
    // out[t] = causal (optionally windowed) attention of q[t] over its sequence's cached positions <= its own.
    virtual void attention(const TensorView& q, const KvLayerView& cache, const KvLayout& layout,
                           const AttentionParams& p, TensorView out) = 0;
    // out = silu(gate) * up  /  gelu_tanh(gate) * up, elementwise.
    virtual void swiglu(const TensorView& gate, const TensorView& up, TensorView out) = 0;
    virtual void geglu(const TensorView& gate, const TensorView& up, TensorView out) = 0;
    // x += y, elementwise.
    virtual void add(TensorView x, const TensorView& y) = 0;
    // out[i] = x[rows[i]]: gathers the rows that want logits before the output projection.
    virtual void gather_rows(const TensorView& x, std::span<const int32_t> rows, TensorView out) = 0;
    // Tensor parallelism: x (F32) becomes the sum of every rank's x, in place, identical on every rank. Model code
    // calls it after each row-parallel product (attention output, FFN down), whose ranks each hold a partial sum.
    // A backend alone is a group of one, where this does nothing (so one rank runs the plain path bit for bit).
    virtual void all_reduce(TensorView /*x*/) {}
    // Ranks in this backend's group (1: alone). A model cut for N ranks refuses a backend whose group is not N.
    virtual int group_size() const { return 1; }
    // The residual add of a row-parallel product: x += the group's sum of W · h (W · h alone, for a backend alone).
    // proj, of x's shape, is scratch that holds that sum afterwards, or is left unwritten by a backend that adds the
    // product into x directly (a decode step's matmul writing x + W·h in its epilogue: one launch less, same bits).
    // The default: matmul into proj, all_reduce, add.
    virtual void matmul_residual(const TensorView& w, const TensorView& h, TensorView proj, TensorView x);

    // The recurrent (linear attention) ops, for gated delta net layers. Only some backends have them: the
    // defaults throw, naming the op and the backend.
    //
    // Causal depthwise conv1d over time, per channel c of n_channels, with kernel K = w.n_cols:
    //   out[t][c] = sum_i w[c][i] * x[t - (K-1) + i][c]   (then silu(out) when `silu`)
    // where inputs before a sequence's first token in the batch come from its state. x and out: [n_tokens x
    // n_channels] F32, out == x (in place) or disjoint. w: [n_channels x K] F32, tap K-1 weighing the current token
    // (GGUF ssm_conv1d). state: [n_slots x (K-1)*n_channels] F32, a slot holding the sequence's last K-1 inputs,
    // oldest first, each n_channels wide; read, then overwritten with the last K-1 inputs after this batch.
    virtual void conv1d_causal(const TensorView& x, const TensorView& w, TensorView state,
                               const RecurrentLayout& layout, bool silu, TensorView out);
    // The gated delta rule (see DeltaRuleParams) over each sequence's tokens in order. q, k: [n_tokens x
    // n_k_heads*head_dim]; v, out: [n_tokens x n_v_heads*head_dim]; g (log decay, <= 0) and beta: [n_tokens x
    // n_v_heads]; all F32, any row stride (q, k, v may be column views of one conv output). state: [n_slots x
    // n_v_heads*head_dim*head_dim] F32, per value head a (head_dim x head_dim) block whose row j (value index)
    // holds S[0..head_dim)[j] (the key index contiguous); read and updated in place.
    virtual void gated_delta_rule(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& g,
                                  const TensorView& beta, TensorView state, const RecurrentLayout& layout,
                                  const DeltaRuleParams& p, TensorView out);
    // The delta rule's per-token gates from their projections, all [n_tokens x n_v_heads] F32 (outputs may alias
    // their inputs): g = a_neg * softplus(alpha + dt_bias), beta = sigmoid(b_logit). a_neg and dt_bias: one row of
    // n_v_heads (a_neg = -exp(A_log), as GGUF's ssm_a stores it).
    virtual void delta_gates(const TensorView& alpha, const TensorView& b_logit, const TensorView& a_neg,
                             const TensorView& dt_bias, TensorView g, TensorView beta);
    // out = rms_norm(x) * w * silu(z) over each head_dim-wide slice of a row; w: one row of head_dim shared by
    // all heads. x, z, out: [n_tokens x n_heads*head_dim] F32; out may alias x or z.
    virtual void rms_norm_gated(const TensorView& x, const TensorView& w, const TensorView& z, int head_dim, float eps,
                                TensorView out);
    // x[t][h*head_dim + i] *= sigmoid(gate[t][h*gate_head_stride + i]), in place over x [n_tokens x n_heads*head_dim]:
    // the output gate of gated attention. gate: [n_tokens x (n_heads-1)*gate_head_stride + head_dim] F32, so it can
    // be the second half of each head of a fused [q | gate] projection (a view starting head_dim floats into the
    // row, gate_head_stride = 2*head_dim); gate_head_stride = head_dim when dense.
    virtual void sigmoid_gate(TensorView x, const TensorView& gate, int head_dim, int gate_head_stride);
    // out[t][h*head_dim + i] = x[t][h*head_stride + i] for the out.n_cols / head_dim heads: takes every head out of
    // a row where heads sit head_stride apart (the queries of a fused [q | gate] projection) into a dense row.
    virtual void copy_heads(const TensorView& x, int head_dim, int head_stride, TensorView out);

    // Waits until every op issued so far has finished and its results are visible to the host.
    virtual void sync() = 0;
};

inline void Backend::prepare_attention(TensorView q, TensorView k, const TensorView& v, const AttentionInputs& in,
                                       const KvLayerView& cache, const KvLayout& layout) {
    if (in.q_norm) rms_norm_heads(q, *in.q_norm, in.head_dim, in.eps);
    if (in.k_norm) rms_norm_heads(k, *in.k_norm, in.head_dim, in.eps);
    rope(q, in.head_dim, layout.positions, in.rope);
    rope(k, in.head_dim, layout.positions, in.rope);
    kv_store(cache, layout, k, v);
}

inline void Backend::matmul_residual(const TensorView& w, const TensorView& h, TensorView proj, TensorView x) {
    matmul(w, h, proj);
    all_reduce(proj);
    add(x, proj);
}

// The recurrent ops are optional: a backend that lacks one says so when a model first calls it.
inline void Backend::conv1d_causal(const TensorView&, const TensorView&, TensorView, const RecurrentLayout&, bool,
                                   TensorView) {
    throw std::runtime_error("conv1d_causal is not implemented by backend " + name());
}
inline void Backend::gated_delta_rule(const TensorView&, const TensorView&, const TensorView&, const TensorView&,
                                      const TensorView&, TensorView, const RecurrentLayout&, const DeltaRuleParams&,
                                      TensorView) {
    throw std::runtime_error("gated_delta_rule is not implemented by backend " + name());
}
inline void Backend::delta_gates(const TensorView&, const TensorView&, const TensorView&, const TensorView&, TensorView,
                                 TensorView) {
    throw std::runtime_error("delta_gates is not implemented by backend " + name());
}
inline void Backend::rms_norm_gated(const TensorView&, const TensorView&, const TensorView&, int, float, TensorView) {
    throw std::runtime_error("rms_norm_gated is not implemented by backend " + name());
}
inline void Backend::sigmoid_gate(TensorView, const TensorView&, int, int) {
    throw std::runtime_error("sigmoid_gate is not implemented by backend " + name());
}

inline void Backend::copy_heads(const TensorView&, int, int, TensorView) {
    throw std::runtime_error("copy_heads is not implemented by backend " + name());
}

// The reference (and the host-memory backends' version): a strict > keeps the first of equal maxima.
inline void Backend::argmax_rows(const TensorView& x, int32_t* ids) {
    sync();
    for (int64_t r = 0; r < x.n_rows; ++r) {
        const float* row = reinterpret_cast<const float*>(static_cast<const char*>(x.data) + size_t(r) * x.row_bytes);
        float best = -std::numeric_limits<float>::infinity();
        int32_t at = -1;
        for (int64_t i = 0; i < x.n_cols; ++i)
            if (row[i] > best) best = row[i], at = int32_t(i);
        ids[r] = at;
    }
}

inline void Backend::to_host(const TensorView& t, void* dst) {
    sync();
    const size_t packed = quant::row_bytes(t.type, t.n_cols).value_or(0);
    for (int64_t r = 0; r < t.n_rows; ++r)
        std::memcpy(static_cast<char*>(dst) + size_t(r) * packed, static_cast<const char*>(t.data) + size_t(r) * t.row_bytes,
                    packed);
}

}  // namespace hotrod::backend
