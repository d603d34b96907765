// Device pieces shared by the attention kernels (attention_decode.cu, attention_prefill.cu) and the host entry
// (attention.cu): which tokens take the decode path, where a position lives in the paged cache, a cache row's head
// read as floats (F16 or Q8_0, as dequantize_row_q8_0_ref), the score finish (scale, soft-cap) and warp reductions.
// The launchers of the two kernel families are declared at the end; Attention::run chooses between them.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "cuda/attention.h"
#include "cuda/formats.cuh"

namespace hotrod::cuda::attn {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kQ8Bytes = 34;  // one Q8_0 block: fp16 scale + 32 int8 codes

// A sequence with at most this many query tokens in the batch takes the decode kernel (its tokens are few, so
// nothing is gained by sharing K/V reads between them, and splitting positions across blocks keeps the GPU busy);
// a longer one (prefill, or a long chunk) takes the tiled kernel. 4 covers plain decode and short speculative runs.
constexpr int kDecodeMaxSeqTokens = 4;

// Whether token t belongs to a sequence with at most max_seq_tokens tokens in the batch. Tokens of a sequence are
// contiguous, so it suffices to look max_seq_tokens tokens either way: every token of a sequence gets the same
// answer (a longer sequence always shows at least max_seq_tokens + 1 of its tokens around any of them), which
// is what lets the two kernels split the batch between them without a list. max_seq_tokens 0: never.
__device__ __forceinline__ bool is_decode_token(const int32_t* token_seq, int n_tokens, int t, int max_seq_tokens) {
    if (max_seq_tokens <= 0) return false;
    const int32_t s = token_seq[t];
    int count = 1;
    for (int k = 1; k <= max_seq_tokens && t - k >= 0 && token_seq[t - k] == s; ++k) ++count;
    for (int k = 1; k <= max_seq_tokens && t + k < n_tokens && token_seq[t + k] == s; ++k) ++count;
    return count <= max_seq_tokens;
}

// Positions token t sees: [first, end) (backend contract: j > p - window when window > 0, j <= p).
__device__ __forceinline__ void visible_range(int32_t pos, int window, int32_t& first, int32_t& end) {
    first = window > 0 && pos - window + 1 > 0 ? pos - window + 1 : 0;
    end = pos + 1;
}

// Physical cache row of position pos of sequence seq (cpu::kv_slot). Fits int32: the cache holds at most
// INT32_MAX rows (KvCache refuses more blocks).
__device__ __forceinline__ int32_t kv_row(const DeviceKvLayout& L, int32_t seq, int32_t pos) {
    return L.block_index[L.block_index[seq] + pos / L.block_size] * L.block_size + pos % L.block_size;
}

// Bytes of one KV head in a cache row: head_dim halves, or head_dim / 32 Q8_0 blocks.
template <quant::DType kType>
__host__ __device__ constexpr size_t kv_head_bytes(int head_dim) {
    return kType == quant::DType::F16 ? size_t(head_dim) * 2 : size_t(head_dim / 32) * kQ8Bytes;
}

template <quant::DType kType>
__host__ __device__ constexpr size_t kv_row_bytes(int n_kv_heads, int head_dim) {
    return size_t(n_kv_heads) * kv_head_bytes<kType>(head_dim);
}

// Element 32 * c + lane of KV head g in cache row `row` (row_bytes apart), as a float: F16 widened, Q8_0 as
// dequantize_row_q8_0_ref (float(code) * fp16 scale). kDim = head_dim.
template <quant::DType kType, int kDim>
__device__ __forceinline__ float load_elem(const uint8_t* cache, size_t row_bytes, int32_t row, int g, int c,
                                           int lane) {
    const uint8_t* head = cache + size_t(row) * row_bytes + size_t(g) * kv_head_bytes<kType>(kDim);
    if constexpr (kType == quant::DType::F16) {
        return __half2float(reinterpret_cast<const __half*>(head)[32 * c + lane]);
    } else {
        const uint8_t* blk = head + size_t(c) * kQ8Bytes;
        return float(int8_t(blk[2 + lane])) * half_bits_to_float(load_u16(blk));
    }
}

// Asks L2 for `bytes` bytes at p ahead of their use (a hint: nothing is loaded into registers, nothing can fault
// beyond what a load of the same bytes would).
__device__ __forceinline__ void prefetch_l2(const uint8_t* p, size_t bytes) {
    for (size_t o = 0; o < bytes; o += 64) asm volatile("prefetch.global.L2 [%0];" ::"l"(p + o));
    asm volatile("prefetch.global.L2 [%0];" ::"l"(p + bytes - 1));
}

// scale * dot, then softcap * tanh(s / softcap) when softcap > 0 (the CPU reference's order).
__device__ __forceinline__ float finish_score(float dot, float scale, float softcap) {
    float s = dot * scale;
    if (softcap > 0.0f) s = softcap * tanhf(s / softcap);
    return s;
}

__device__ __forceinline__ float warp_max(float x) {
    for (int o = 16; o > 0; o /= 2) x = fmaxf(x, __shfl_xor_sync(kFullMask, x, o));
    return x;
}

__device__ __forceinline__ float warp_sum(float x) {
    for (int o = 16; o > 0; o /= 2) x += __shfl_xor_sync(kFullMask, x, o);
    return x;
}

// A warp stores one 32-element Q8_0 block of the cache, lane l giving element l (x): quantize_row_q8_0_act_ref's
// scale fp16(amax / 127) and codes rint(x * (127 / amax)), ties to even, each float operation explicitly rounded.
__device__ __forceinline__ void store_q8_0_element(float x, uint8_t* blk, int lane) {
    const float amax = warp_max(fabsf(x));
    const float id = amax != 0.0f ? __fdiv_rn(127.0f, amax) : 0.0f;
    if (lane == 0) *reinterpret_cast<__half*>(blk) = __float2half_rn(__fdiv_rn(amax, 127.0f));
    blk[2 + lane] = uint8_t(int8_t(__float2int_rn(__fmul_rn(x, id))));  // |x * id| <= 127
}

// x rounded to fp16 and back: the CPU backend (as llama.cpp's CPU attention) rounds Q to fp16 for the K product and
// each probability to fp16 for the V product; doing the same keeps GPU and CPU logits within the noise of float
// addition order. (The probabilities here are relative to the running max of the online softmax, the CPU's to the
// final max: equal whenever the max comes first, the same size of rounding otherwise.)
__device__ __forceinline__ float round_fp16(float x) { return __half2float(__float2half_rn(x)); }

// One online-softmax step for a row whose new scores (one per lane, -inf where masked) are s: updates the running
// max m and sum l (both the same in every lane) and returns this lane's unnormalised probability and, in alpha,
// the factor the row's accumulators must be scaled by. A row that has seen nothing but -inf keeps m = -inf, l = 0
// and gets p = 0 (never exp(-inf - -inf)).
__device__ __forceinline__ float online_softmax_step(float s, float& m, float& l, float& alpha) {
    const float m_new = fmaxf(m, warp_max(s));
    const float base = m_new == -INFINITY ? 0.0f : m_new;
    const float p = expf(s - base);
    alpha = expf(m - base);
    l = l * alpha + warp_sum(p);
    m = m_new;
    return p;
}

// Launchers (attention_decode.cu, attention_prefill.cu, attention_prefill_mma.cu). decode_max_seq_tokens is the is_decode_token limit both
// are given, so every token is taken by exactly one of them.
struct AttentionArgs {
    const float* q;
    int64_t q_stride;
    const uint8_t* k;
    const uint8_t* v;
    quant::DType type;
    DeviceKvLayout layout;
    AttentionShape shape;
    float* out;
    int64_t out_stride;
    int decode_max_seq_tokens;
    bool prefetch = false;  // the decode kernel asks L2 for its span's K/V before the grid dependency wait
    // When set (every token a decode token, G x head_dim a multiple of 256): each output row also goes to act_q as
    // Q8_K blocks (row t act_row_bytes from row t - 1), the next matmul's activations, quantized in the kernel that
    // writes the row (the decode kernel, or its combine kernel after splits) instead of in a launch of its own.
    void* act_q = nullptr;
    size_t act_row_bytes = 0;
    // Batch-invariant choices (Attention::Plan): decode_tokens >= 0 sends tokens [0, decode_tokens) to the decode
    // kernel and the rest to the tiled one (decode_max_seq_tokens unused); split_cap > 0 splits each decode token's
    // positions by its own length (token_splits) instead of every token into the launch's n_splits.
    int decode_tokens = -1;
    int split_cap = 0;
    int prefill_span = 0;  // > 0: the tensor-core kernel's split z covers positions [z * span, + span)
};

// Whether token t takes the decode kernel (every kernel asks the same, so each token is taken by exactly one).
__device__ __forceinline__ bool takes_decode(const AttentionArgs& a, int t) {
    if (a.decode_tokens >= 0) return t < a.decode_tokens;
    return is_decode_token(a.layout.token_seq, a.layout.n_tokens, t, a.decode_max_seq_tokens);
}

// A decode split spans at least this many positions (a chunk for half the decode kernel's four warps).
constexpr int kDecodeMinSplitPositions = 64;

// The splits of a decode token that sees `len` positions, from its length alone (and cap, a constant of the model
// and the card): the largest power of two up to cap and len / kDecodeMinSplitPositions, at least 1. A power of two,
// so a decode step's launch shape (the grid's splits, from the longest length) changes at a few lengths only.
__host__ __device__ __forceinline__ int token_splits(int len, int cap) {
    const int by_len = len / kDecodeMinSplitPositions;
    const int n = by_len < cap ? by_len : cap;
    int pow2 = 1;
    while (pow2 * 2 <= n) pow2 *= 2;
    return pow2;
}

// The splits decode token t of a launch with n_splits uses: its own (split_cap > 0) or the launch's.
__device__ __forceinline__ int decode_splits_of(const AttentionArgs& a, int t, int n_splits) {
    if (a.split_cap <= 0) return n_splits;
    int32_t first = 0, end = 0;
    visible_range(a.layout.positions[t], a.shape.window, first, end);
    return token_splits(end - first, a.split_cap);
}

// Largest group (n_heads / n_kv_heads) the decode kernel takes; larger ones go through the tiled kernel.
constexpr int kDecodeMaxGroup = 8;
// Largest group the tiled kernel takes (a tile holds at least one token's query heads at head_dim 256).
constexpr int kPrefillMaxGroup = 32;

// Splits of each token's positions for the decode kernel (1: no partial results), from the device's size.
int decode_splits(int n_tokens, int n_kv_heads, int max_kv_len, int n_sms);
// The most splits one decode token takes when each splits by its own length: as many as put kBlocksPerSm blocks
// on every SM for a lone token, at most the kernel's cap.
int decode_split_cap(int n_kv_heads, int n_sms);
// Batch-invariant prefill splits: positions a split of the tensor-core kernel covers ([z * span, + span), the same
// for every token whatever its tile), or 0 where that kernel does not take the shape or splitting is off.
int prefill_split_span(int n_heads, int n_kv_heads, int head_dim, quant::DType cache_type);
// Scratch floats the decode kernel's partial results need at n_splits > 1.
size_t decode_scratch_floats(int n_tokens, const AttentionShape& shape, int n_splits);
// Decode tokens: partial results in scratch and a combine kernel when n_splits > 1, out directly otherwise.
void launch_attention_decode(const AttentionArgs& a, int n_splits, float* scratch, cudaStream_t stream);
// Every other token: tiles of consecutive query tokens of one sequence (on tensor cores where
// prefill_mma_takes: an F16 cache at head_dim 64 / 128 / 256; HOTROD_CUDA_MMA=0 keeps the CUDA-core kernel).
// n_splits > 1 (the tensor-core kernel only; others write out directly): each tile's positions are cut into
// n_splits ranges, partial results go to scratch (prefill_scratch_floats) and the combine kernel merges them.
void launch_attention_prefill(const AttentionArgs& a, int n_splits, float* scratch, cudaStream_t stream);
bool prefill_mma_takes(const AttentionArgs& a);
void launch_attention_prefill_mma(const AttentionArgs& a, int n_splits, float* scratch, cudaStream_t stream);
// Splits of each tile's positions for the tensor-core prefill kernel (1: none), from the batch and the device's
// size: a long context's few tiles (a 512-token chunk of Qwen3.5-4B: 128 blocks) otherwise leave an H100's SMs
// one block each, every block walking thousands of positions.
int prefill_splits(int n_tokens, int n_heads, int n_kv_heads, int head_dim, quant::DType cache_type, int max_kv_len,
                   int n_sms);
size_t prefill_scratch_floats(int n_tokens, const AttentionShape& shape, int n_splits);
// Merges the n_splits partial results (max, sum, unnormalised output per token and head, the decode kernel's
// layout) of the decode tokens (prefill_tokens false) or of the others into out.
void launch_attention_combine(const AttentionArgs& a, int n_splits, const float* part_acc, const float* part_ml,
                              bool prefill_tokens, cudaStream_t stream);

// The prefill kernels' walk over their tile (grid x: tokens [x * tile_tokens, + tile_tokens)): fn(ta, tb) for each
// run [ta, tb) of one sequence's tokens, skipping the decode kernel's tokens. Every thread walks the same runs, so
// the block's barriers inside fn line up.
template <class Fn>
__device__ __forceinline__ void for_each_prefill_sub_tile(const AttentionArgs& a, int tile_tokens, Fn&& fn) {
    const DeviceKvLayout& L = a.layout;
    const int t_begin = int(blockIdx.x) * tile_tokens;
    const int t_end = t_begin + tile_tokens < L.n_tokens ? t_begin + tile_tokens : L.n_tokens;
    for (int ta = t_begin; ta < t_end;) {
        const int32_t seq = L.token_seq[ta];
        int tb = ta + 1;
        while (tb < t_end && L.token_seq[tb] == seq) ++tb;
        if (!takes_decode(a, ta)) fn(ta, tb);
        ta = tb;
    }
}

}  // namespace hotrod::cuda::attn
