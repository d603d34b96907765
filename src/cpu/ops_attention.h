// Paged, causal, GQA attention kernels (the decode hot path). One unit of work is one token t and one KV head g:
// all G = n_heads / n_kv_heads query heads of that group read each cached K/V row once. It runs in two passes
// over spans of positions, numerically as llama.cpp's (non-flash) CPU attention, which the model tests compare
// against: Q is rounded to fp16 (ggml converts it to the cache's F16 for the K.Q product), the softmax is taken
// over the whole range (max, then sum of exp in double), and each probability is rounded to fp16 before the V
// product (ggml's KQ x V matmul converts KQ to F16). Both roundings move single-layer outputs by ~1e-4
// relative: enough to change 8-bit activation roundings downstream, so leaving them out costs arg-max
// agreement on real models. Pass 1 (scores) gives each span's scores, max and sum; the spans' max and sum are
// merged (attention_softmax_merge); pass 2 (values) sums the rounded probabilities times V per span, and the
// spans' sums are added. So a long context can be split over threads; attention_*_ref are the scalar
// references, AVX2 / AVX-512 versions live in ops_attention_{avx2,avx512}.cpp. Threading is in cpu_backend.cpp.
// Prefill has a second kind of unit, the tile (ops_attention_tile*.cpp): consecutive tokens of one sequence
// share almost all their K/V rows, so up to kAttentionTileRows query rows (tokens x G heads) read each row
// once, with the same roundings (Q and probabilities to fp16, sum of exp in double).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/dot.h"
#include "quant/types.h"

namespace hotrod::cpu {

struct AttentionJob {
    const float* q = nullptr;  // token t, head h at q + t * q_stride + h * head_dim
    size_t q_stride = 0;       // floats
    float* out = nullptr;      // same layout as q
    size_t out_stride = 0;
    quant::DType kv_type = quant::DType::F16;  // F16 or Q8_0 (then head_dim % 32 == 0)
    const uint8_t* k = nullptr;  // cache row r (one position, all KV heads) at k + r * kv_row_bytes
    const uint8_t* v = nullptr;
    size_t kv_row_bytes = 0;
    int n_heads = 0, n_kv_heads = 0, head_dim = 0;
    float scale = 1.0f;
    float softcap = 0.0f;  // s = softcap * tanh(s / softcap) after scaling, when > 0
    int window = 0;        // > 0: token at p sees positions j > p - window
    const int32_t* positions = nullptr;               // per token
    const int32_t* token_seq = nullptr;               // per token: its sequence
    const int32_t* const* block_tables = nullptr;     // per sequence
    int block_size = 0;
};

// Positions token t attends to: [first, last + 1).
inline void attention_range(const AttentionJob& job, int64_t t, int32_t& first, int32_t& end) {
    const int32_t p = job.positions[t];
    first = job.window > 0 && p - job.window + 1 > 0 ? p - job.window + 1 : 0;
    end = p + 1;
}

// Pass 1 over [j_begin, j_end) for the G heads of group g of token t: scores[h * (j_end - j_begin) + j - j_begin]
// = scale * (fp16(q_h) . k_j), soft-capped when asked; m_l[h] = the span's max score (-inf when empty) and
// m_l[G + h] = sum of exp(s - m_l[h]) over the span (0 when empty).
using AttentionScoresFn = void (*)(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end,
                                   float* scores, float* m_l);
// Pass 2 over the same span, given the whole range's max M[h] = m_inv[h] and 1 / sum inv_l[h] = m_inv[G + h]:
// acc[h * head_dim + i] = sum over j of fp16(exp(s_j - M[h]) * inv_l[h]) * v_j[i].
using AttentionValuesFn = void (*)(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end,
                                   const float* scores, const float* m_inv, float* acc);
// Whole attention of a prefill tile: tokens [t0, t0 + n_tokens) of one sequence at consecutive positions, KV
// head g, written to job.out. scratch holds attention_tile_scratch_floats(job, tiles) floats for a plan that
// holds this tile.
using AttentionTileFn = void (*)(const AttentionJob& job, int64_t t0, int n_tokens, int g, float* scratch);
struct AttentionKernels {
    AttentionScoresFn scores;
    AttentionValuesFn values;
    AttentionTileFn tile;  // nullptr: no tiled kernel for this ISA, prefill goes unit by unit
};

// Query rows (tokens x G) of one tile: two AVX-512 registers of rows, so a K or V row converted once serves
// 32 dot products or FMAs.
constexpr int kAttentionTileRows = 32;
inline int attention_tile_tokens(int group) { return group >= kAttentionTileRows ? 1 : kAttentionTileRows / group; }

// A stretch of the batch for the tiled path: n_tokens consecutive tokens of one sequence at consecutive
// positions (n_tokens == 1: a lone token, e.g. decode, which goes through attention_unit).
struct AttentionTile {
    int64_t t0;
    int32_t n_tokens;
    int32_t span;  // positions the tile reads: last token's end - first token's first
};

// Cuts the batch into tiles of at most attention_tile_tokens(G) tokens, heaviest (longest span) first so the
// threads finish together.
void attention_plan_tiles(const AttentionJob& job, int64_t n_tokens, std::vector<AttentionTile>& tiles);
// Scratch floats one task of any of these tiles needs.
size_t attention_tile_scratch_floats(const AttentionJob& job, const std::vector<AttentionTile>& tiles);
// One (tile, KV head) task: a lone token through attention_unit, a run of tokens through k.tile.
void attention_tile_task(const AttentionJob& job, const AttentionKernels& k, const AttentionTile& tile, int g,
                         float* scratch);

// The tile reference: attention_unit with the reference kernels, token by token (scratch as for the tile).
void attention_tile_ref(const AttentionJob& job, int64_t t0, int n_tokens, int g, float* scratch);

// Whole attention with tiles where a kernel has them (attention_run otherwise), one thread (tests).
void attention_run_tiled(const AttentionJob& job, int64_t n_tokens, const AttentionKernels& k);

void attention_scores_ref(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end, float* scores,
                          float* m_l);
void attention_values_ref(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end,
                          const float* scores, const float* m_inv, float* acc);

inline int attention_group(const AttentionJob& job) { return job.n_heads / job.n_kv_heads; }

// Merges n_parts spans' (max, sum) pairs (2G floats each, `stride` floats apart) into the whole range's
// (M, 1 / sum) in m_inv (2G floats). A head with no position at all gets M = -inf and 1 / sum = 0.
void attention_softmax_merge(const AttentionJob& job, int n_parts, const float* m_l, size_t stride, float* m_inv);

// Whole attention of unit (t, g) in one span on the calling thread; scratch holds G * (range length) floats.
void attention_unit(const AttentionJob& job, const AttentionKernels& k, int64_t t, int g, float* scratch);

// Whole attention for every token and group with the given kernels, one thread (tests, small batches).
void attention_run(const AttentionJob& job, int64_t n_tokens, const AttentionKernels& k);

// The kernels for a cache type and ISA (the references when no SIMD version fits).
AttentionKernels find_attention_kernels(quant::DType kv_type, Isa isa);

namespace kernels {
void attention_scores_avx2(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end, float* scores,
                           float* m_l);
void attention_values_avx2(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end,
                           const float* scores, const float* m_inv, float* acc);
void attention_scores_avx512(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end,
                             float* scores, float* m_l);
void attention_values_avx512(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end,
                             const float* scores, const float* m_inv, float* acc);
void attention_tile_avx512(const AttentionJob& job, int64_t t0, int n_tokens, int g, float* scratch);
}  // namespace kernels

}  // namespace hotrod::cpu
