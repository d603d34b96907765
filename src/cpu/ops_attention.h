// Paged, causal, GQA attention kernels (the decode hot path). One call handles one token t and one KV head g:
// all G = n_heads / n_kv_heads query heads of that group read each cached K/V row once. Work is expressed as a
// span of positions [j_begin, j_end) giving a partial softmax state (max m, sum l, unnormalized acc), so a long
// context can be split over threads and merged (attention_merge); attention_span_ref is the scalar reference,
// and AVX2 / AVX-512 versions live in ops_attention_{avx2,avx512}.cpp. Threading is in cpu_backend.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

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

// Partial softmax state of the G query heads of group g of token t over positions [j_begin, j_end), as
// attention_state_floats(job) floats: acc[G][head_dim] = sum of exp(s - m[h]) v, then m[G] = max score, then
// l[G] = sum of exp(s - m[h]). An empty span gives acc = 0, m = -inf, l = 0.
inline size_t attention_state_floats(const AttentionJob& job) {
    const size_t group = size_t(job.n_heads / job.n_kv_heads);
    return group * size_t(job.head_dim) + 2 * group;
}

using AttentionSpanFn = void (*)(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end,
                                 float* state);

void attention_span_ref(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end, float* state);

// Writes the out rows of group g of token t from n_parts partial states stored back to back.
void attention_merge(const AttentionJob& job, int64_t t, int g, int n_parts, const float* states);

// Whole attention for every token and group with the given span kernel, one thread (tests, small batches).
void attention_run(const AttentionJob& job, int64_t n_tokens, AttentionSpanFn span);

// The span kernel for a cache type and ISA (the reference when no SIMD version fits).
AttentionSpanFn find_attention_span(quant::DType kv_type, Isa isa);

namespace kernels {
void attention_span_avx2(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end, float* state);
void attention_span_avx512(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end, float* state);
}  // namespace kernels

}  // namespace hotrod::cpu
