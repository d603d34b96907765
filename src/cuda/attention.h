// Paged attention and the KV-cache write on the GPU. The cache holds, per layer, K and V as n_blocks * block_size
// rows of n_kv_heads * head_dim elements (F16, or Q8_0 blocks of 32), physical block b holding rows
// b * block_size ..; a sequence's block table maps its logical blocks to physical ones (backend::KvLayout).
// Every index array here is a device array (uploaded once per step by CudaBackend::begin_step).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "quant/types.h"

namespace hotrod::cuda {

// Where each token of a batch goes in the cache (device arrays). Tokens of one sequence are contiguous and in
// position order. block_index holds n_seqs offsets, then the block ids: sequence s's physical blocks are
// block_index[block_index[s] + 0 ..]. No stride or length is a launch argument, so a CUDA graph captured for a
// decode step replays at every later length of its sequences (step_graph.h keys graphs by launch arguments).
struct DeviceKvLayout {
    const int32_t* positions = nullptr;    // [n_tokens]
    const int32_t* token_seq = nullptr;    // [n_tokens]: index of the token's sequence in the batch
    const int32_t* block_index = nullptr;  // [n_seqs offsets | each sequence's block ids]
    int block_size = 0;
    int n_tokens = 0;
    // The largest position + 1 over the batch's tokens: sizes the decode split on the host. No kernel reads it, so
    // a CUDA graph captured at one length replays correctly at another (step_graph.h).
    int max_kv_len = 0;
};

struct DeviceKvCache {
    quant::DType type = quant::DType::F16;  // F16 or Q8_0 (Q8_0 needs head_dim % 32 == 0)
    void* k = nullptr;
    void* v = nullptr;
    int n_kv_heads = 0;
    int head_dim = 0;
};

struct AttentionShape {
    int n_heads = 0;
    int n_kv_heads = 0;   // divides n_heads (GQA: n_heads / n_kv_heads query heads share a KV head)
    int head_dim = 0;
    float scale = 1.0f;   // applied to q·k
    int window = 0;       // sliding window in tokens: token at position p sees positions > p - window (0 = all)
    float softcap = 0.0f; // scores become softcap * tanh(score / softcap) (0 = none)
};

// Writes each token's k and v rows (F32, n_tokens rows of n_kv_heads * head_dim, strides in floats) into the
// cache at its position, converted to the cache type bit for bit as the CPU backend's row store (F16: round to
// nearest even; Q8_0: quantize_row_q8_0_act_ref, i.e. codes rint(x * 127 / amax) with ties to even).
void kv_store(const DeviceKvCache& cache, const DeviceKvLayout& layout, const float* k, int64_t k_stride,
              const float* v, int64_t v_stride, cudaStream_t stream);

// Backend::prepare_attention in one launch (attention_inputs.cu): per token, each q head and k head RMS-normalised
// with q_norm / k_norm (nullptr: not normalised) and rotated by the rope table's row of its position (rope_fill_table
// layout, NeoX or normal pairs over the first n_dims), then k and v stored as kv_store stores them. Bit for bit
// rms_norm_heads, rope_from_table and kv_store one after another, where attention_inputs_fit (else: refused).
struct AttentionInputsArgs {
    float* q = nullptr;
    int64_t q_stride = 0;
    float* k = nullptr;
    int64_t k_stride = 0;
    float* v = nullptr;  // read only
    int64_t v_stride = 0;
    const float* q_norm = nullptr;
    const float* k_norm = nullptr;
    float eps = 0.0f;
    int n_heads = 0;  // query heads; the KV heads are the cache's
    int head_dim = 0;
    int n_dims = 0;
    bool neox = false;
    const float* rope_table = nullptr;
    DeviceKvCache cache;
    DeviceKvLayout layout;
};
bool attention_inputs_fit(const AttentionInputsArgs& a);
void attention_inputs(const AttentionInputsArgs& a, cudaStream_t stream);

// Scratch for the split (flash-decoding) partial results; grows on first use of a larger shape, never shrinks.
class Attention {
public:
    Attention() = default;
    ~Attention();
    Attention(const Attention&) = delete;
    Attention& operator=(const Attention&) = delete;

    // out[t] = causal (optionally windowed) attention of q[t] (F32, n_heads * head_dim per row) over its
    // sequence's cached positions <= its own. Rows of q and out are q_stride / out_stride floats apart.
    // Few query tokens per sequence (decode): positions are split across blocks and the partial softmaxes combined;
    // many (prefill): tiles of consecutive query tokens share each K/V row they read.
    void run(const float* q, int64_t q_stride, const DeviceKvCache& cache, const DeviceKvLayout& layout,
             const AttentionShape& shape, float* out, int64_t out_stride, cudaStream_t stream);

    // run() in two halves, for launches deferred into a CUDA graph (step_graph.h): plan() checks the shapes, picks
    // the decode split count and grows the scratch (host work, done when the op is called); launch() only issues
    // kernels. A plan stays valid while no later plan() grows the scratch (a plan names the scratch it uses).
    //
    // decode_tokens >= 0 (batch invariance, see Backend's StepIndex): tokens [0, decode_tokens) take the decode
    // kernel, each splitting its positions by its own length, and the others the tiled kernel, whose splits cover
    // fixed position spans; a token's output then depends on its kind and its own sequence only. -1: the old rule
    // (a sequence with at most attn::kDecodeMaxSeqTokens tokens in the batch decodes; splits from the batch's size).
    struct Plan {
        int n_splits = 0;          // the decode launch's splits (0: no decode tokens, or the group is too large)
        float* scratch = nullptr;  // partial results when n_splits > 1, then prefill_splits > 1
        int prefill_splits = 1;    // position ranges a prefill tile is cut into (tensor-core kernel)
        int decode_tokens = -1;
        int split_cap = 0;     // > 0: a decode token's splits by its own length (attn::token_splits)
        int prefill_span = 0;  // > 0: prefill split z covers positions [z * span, + span)
    };
    Plan plan(const DeviceKvCache& cache, const DeviceKvLayout& layout, const AttentionShape& shape,
              int64_t decode_tokens = -1);
    // Whether plan() would keep the current scratch (a growth frees the old one, which deferred launches may name).
    bool scratch_fits(const DeviceKvCache& cache, const DeviceKvLayout& layout, const AttentionShape& shape,
                      int64_t decode_tokens = -1);
    // act_q (where quantizes_output): out's rows also written as Q8_K rows act_row_bytes apart, for the next matmul.
    static void launch(const Plan& plan, const float* q, int64_t q_stride, const DeviceKvCache& cache,
                       const DeviceKvLayout& layout, const AttentionShape& shape, float* out, int64_t out_stride,
                       cudaStream_t stream, void* act_q = nullptr, size_t act_row_bytes = 0);
    // Whether launch can also write out as Q8_K: every token a decode token (token_seq: each token's sequence,
    // a sequence's tokens contiguous), the decode kernel planned, a KV head's query heads whole Q8_K blocks.
    static bool quantizes_output(const Plan& plan, const AttentionShape& shape, std::span<const int32_t> token_seq);

private:
    // The plan's split counts and choices, without the scratch.
    Plan shape_plan(const DeviceKvCache& cache, const DeviceKvLayout& layout, const AttentionShape& shape,
                    int64_t decode_tokens);
    // Scratch floats the plan's two split counts need: the decode part first, the prefill part after it.
    static size_t scratch_floats(const DeviceKvLayout& layout, const AttentionShape& shape, int decode_splits,
                                 int prefill_splits);

    void* scratch_ = nullptr;
    size_t scratch_bytes_ = 0;
};

}  // namespace hotrod::cuda
