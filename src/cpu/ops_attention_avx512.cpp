// Attention kernels, AVX-512 (see ops_attention.h for the two passes and their roundings). Scores: Q of the
// group rounded to fp16 once, each K row converted to float once (F16C or Q8_0 dequantize) and dotted with the
// G heads, then per head one max and a vector exp for the sum. Values: per chunk of 32 positions the rounded
// probabilities of the G heads by vector exp, then each V row converted once and added to the G accumulators.
// Shapes outside what it handles (head_dim % 16, head_dim > 512, G > 16) go to the references.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "cpu/ops_attention.h"
#include "cpu/ops_attention_load.h"
#include "cpu/ops_kv.h"
#include "cpu/ops_simd_math.h"

namespace hotrod::cpu::kernels {

namespace {

constexpr int kChunk = 32;
constexpr int kMaxGroup = 16;
constexpr int kMaxHeadDim = 512;

inline float dot(const float* a, const float* b, int n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_load_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_load_ps(b + i + 16), s1);
    }
    if (i < n) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_load_ps(b + i), s0);
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

inline __mmask16 lanes(int32_t n) { return n >= 16 ? __mmask16(0xffff) : simd::tail_mask16(n); }

template <quant::DType T>
void scores(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end, float* sc, float* m_l) {
    const int hd = job.head_dim;
    const int group = attention_group(job);
    const int32_t len = j_end - j_begin;
    const int32_t* table = job.block_tables[job.token_seq[t]];
    alignas(64) float row_f32[kMaxHeadDim];
    alignas(64) float qh[kMaxGroup * kMaxHeadDim];
    const float* q = job.q + size_t(t) * job.q_stride + size_t(g) * group * hd;
    for (int i = 0; i < group * hd; i += 16) _mm512_store_ps(qh + i, simd::round_fp16(_mm512_loadu_ps(q + i)));

    int32_t block = j_begin / job.block_size, offset = j_begin % job.block_size;  // no division per position
    for (int32_t jj = 0; jj < len; ++jj) {
        const int64_t slot = int64_t(table[block]) * job.block_size + offset;
        if (++offset == job.block_size) offset = 0, ++block;
        simd::load_head16<T>(job.k + size_t(slot) * job.kv_row_bytes, g, hd, row_f32);
        for (int h = 0; h < group; ++h) sc[size_t(h) * len + jj] = dot(qh + size_t(h) * hd, row_f32, hd) * job.scale;
    }
    const float neg_inf = -std::numeric_limits<float>::infinity();
    for (int h = 0; h < group; ++h) {
        float* sh = sc + size_t(h) * len;
        __m512 mv = _mm512_set1_ps(neg_inf);
        for (int32_t j = 0; j < len; j += 16) {
            const __mmask16 k = lanes(len - j);
            __m512 x = _mm512_maskz_loadu_ps(k, sh + j);
            if (job.softcap > 0.0f) {
                const __m512 cap = _mm512_set1_ps(job.softcap);
                x = _mm512_mul_ps(cap, simd::tanh16(_mm512_mul_ps(x, _mm512_set1_ps(1.0f / job.softcap))));
                _mm512_mask_storeu_ps(sh + j, k, x);
            }
            mv = _mm512_mask_max_ps(mv, k, mv, x);
        }
        const float m = _mm512_reduce_max_ps(mv);
        double l = 0.0;
        for (int32_t j = 0; j < len; j += 16) {
            const __mmask16 k = lanes(len - j);
            const __m512 e = simd::exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, sh + j), _mm512_set1_ps(m)));
            l += double(_mm512_reduce_add_ps(_mm512_maskz_mov_ps(k, e)));
        }
        m_l[h] = m;
        m_l[group + h] = float(l);
    }
}

template <quant::DType T>
void values(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end, const float* sc,
            const float* m_inv, float* acc) {
    const int hd = job.head_dim;
    const int group = attention_group(job);
    const int32_t len = j_end - j_begin;
    const int32_t* table = job.block_tables[job.token_seq[t]];
    alignas(64) float row_f32[kMaxHeadDim];
    alignas(64) float p[kMaxGroup * kChunk];
    std::fill(acc, acc + size_t(group) * hd, 0.0f);
    int32_t block = j_begin / job.block_size, offset = j_begin % job.block_size;
    for (int32_t jc = 0; jc < len; jc += kChunk) {
        const int nc = std::min<int32_t>(kChunk, len - jc);
        for (int h = 0; h < group; ++h) {
            const __m512 mv = _mm512_set1_ps(m_inv[h]), inv = _mm512_set1_ps(m_inv[group + h]);
            for (int j = 0; j < nc; j += 16) {
                const __mmask16 k = lanes(nc - j);
                const __m512 s = _mm512_maskz_loadu_ps(k, sc + size_t(h) * len + jc + j);
                const __m512 e = _mm512_mul_ps(simd::exp16(_mm512_sub_ps(s, mv)), inv);
                _mm512_store_ps(p + h * kChunk + j, _mm512_maskz_mov_ps(k, simd::round_fp16(e)));
            }
        }
        for (int jj = 0; jj < nc; ++jj) {
            const int64_t slot = int64_t(table[block]) * job.block_size + offset;
            if (++offset == job.block_size) offset = 0, ++block;
            simd::load_head16<T>(job.v + size_t(slot) * job.kv_row_bytes, g, hd, row_f32);
            for (int h = 0; h < group; ++h) {
                const __m512 w = _mm512_set1_ps(p[h * kChunk + jj]);
                float* ah = acc + size_t(h) * hd;
                for (int i = 0; i < hd; i += 16) {
                    _mm512_storeu_ps(ah + i, _mm512_fmadd_ps(w, _mm512_load_ps(row_f32 + i), _mm512_loadu_ps(ah + i)));
                }
            }
        }
    }
}

bool fits(const AttentionJob& job) {
    return job.head_dim % 16 == 0 && job.head_dim <= kMaxHeadDim && attention_group(job) <= kMaxGroup;
}

}  // namespace

void attention_scores_avx512(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end, float* sc,
                             float* m_l) {
    if (!fits(job)) attention_scores_ref(job, t, g, j_begin, j_end, sc, m_l);
    else if (job.kv_type == quant::DType::Q8_0) scores<quant::DType::Q8_0>(job, t, g, j_begin, j_end, sc, m_l);
    else scores<quant::DType::F16>(job, t, g, j_begin, j_end, sc, m_l);
}

void attention_values_avx512(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end,
                             const float* sc, const float* m_inv, float* acc) {
    if (!fits(job)) attention_values_ref(job, t, g, j_begin, j_end, sc, m_inv, acc);
    else if (job.kv_type == quant::DType::Q8_0) values<quant::DType::Q8_0>(job, t, g, j_begin, j_end, sc, m_inv, acc);
    else values<quant::DType::F16>(job, t, g, j_begin, j_end, sc, m_inv, acc);
}

}  // namespace hotrod::cpu::kernels
