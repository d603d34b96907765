// Attention kernels, AVX2 + FMA + F16C: the same two passes as the AVX-512 version (ops_attention.h), 8 lanes
// wide, tails of fewer than 8 positions done one by one. Shapes outside what it handles (head_dim % 8,
// head_dim > 512, G > 16) go to the references.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "cpu/ops_attention.h"
#include "cpu/ops_kv.h"
#include "cpu/ops_simd_math.h"

namespace hotrod::cpu::kernels {

namespace {

constexpr int kChunk = 32;
constexpr int kMaxGroup = 16;
constexpr int kMaxHeadDim = 512;

template <quant::DType T>
inline void load_head(const uint8_t* row, int head, int hd, float* dst) {
    if constexpr (T == quant::DType::F16) {
        const auto* h = reinterpret_cast<const uint16_t*>(row) + size_t(head) * hd;
        for (int i = 0; i < hd; i += 8) {
            _mm256_store_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
        }
    } else {  // Q8_0 blocks: fp16 scale d, 32 int8
        const uint8_t* b = row + size_t(head) * (hd / 32) * 34;
        for (int i = 0; i < hd; i += 32, b += 34) {
            uint16_t d_bits;
            std::memcpy(&d_bits, b, 2);
            const __m256 d = _mm256_set1_ps(_cvtsh_ss(d_bits));
            for (int k = 0; k < 4; ++k) {
                const __m128i q8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + 2 + 8 * k));
                _mm256_store_ps(dst + i + 8 * k, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8))));
            }
        }
    }
}

inline float dot(const float* a, const float* b, int n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_load_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_load_ps(b + i + 8), s1);
    }
    if (i < n) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_load_ps(b + i), s0);
    return simd::hsum8(_mm256_add_ps(s0, s1));
}

inline __m256 round_fp16(__m256 x) {
    return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
inline float round_fp16(float x) { return _cvtsh_ss(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)); }

template <quant::DType T>
void scores(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end, float* sc, float* m_l) {
    const int hd = job.head_dim;
    const int group = attention_group(job);
    const int32_t len = j_end - j_begin;
    const int32_t* table = job.block_tables[job.token_seq[t]];
    alignas(32) float row_f32[kMaxHeadDim];
    alignas(32) float qh[kMaxGroup * kMaxHeadDim];
    const float* q = job.q + size_t(t) * job.q_stride + size_t(g) * group * hd;
    for (int i = 0; i < group * hd; i += 8) _mm256_store_ps(qh + i, round_fp16(_mm256_loadu_ps(q + i)));

    int32_t block = j_begin / job.block_size, offset = j_begin % job.block_size;  // no division per position
    for (int32_t jj = 0; jj < len; ++jj) {
        const int64_t slot = int64_t(table[block]) * job.block_size + offset;
        if (++offset == job.block_size) offset = 0, ++block;
        load_head<T>(job.k + size_t(slot) * job.kv_row_bytes, g, hd, row_f32);
        for (int h = 0; h < group; ++h) sc[size_t(h) * len + jj] = dot(qh + size_t(h) * hd, row_f32, hd) * job.scale;
    }
    for (int h = 0; h < group; ++h) {
        float* sh = sc + size_t(h) * len;
        if (job.softcap > 0.0f) {
            int32_t j = 0;
            const __m256 cap = _mm256_set1_ps(job.softcap), inv = _mm256_set1_ps(1.0f / job.softcap);
            for (; j + 8 <= len; j += 8) {
                _mm256_storeu_ps(sh + j, _mm256_mul_ps(cap, simd::tanh8(_mm256_mul_ps(_mm256_loadu_ps(sh + j), inv))));
            }
            for (; j < len; ++j) sh[j] = job.softcap * std::tanh(sh[j] / job.softcap);
        }
        float m = -std::numeric_limits<float>::infinity();
        int32_t j = 0;
        if (len >= 8) {
            __m256 mv = _mm256_loadu_ps(sh);
            for (j = 8; j + 8 <= len; j += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(sh + j));
            m = simd::hmax8(mv);
        }
        for (; j < len; ++j) m = std::max(m, sh[j]);
        double l = 0.0;
        const __m256 mv = _mm256_set1_ps(m);
        for (j = 0; j + 8 <= len; j += 8) l += double(simd::hsum8(simd::exp8(_mm256_sub_ps(_mm256_loadu_ps(sh + j), mv))));
        for (; j < len; ++j) l += double(std::exp(sh[j] - m));
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
    alignas(32) float row_f32[kMaxHeadDim];
    alignas(32) float p[kMaxGroup * kChunk];
    std::fill(acc, acc + size_t(group) * hd, 0.0f);
    int32_t block = j_begin / job.block_size, offset = j_begin % job.block_size;
    for (int32_t jc = 0; jc < len; jc += kChunk) {
        const int nc = std::min<int32_t>(kChunk, len - jc);
        for (int h = 0; h < group; ++h) {
            const float* sh = sc + size_t(h) * len + jc;
            const __m256 mv = _mm256_set1_ps(m_inv[h]), inv = _mm256_set1_ps(m_inv[group + h]);
            int j = 0;
            for (; j + 8 <= nc; j += 8) {
                const __m256 e = _mm256_mul_ps(simd::exp8(_mm256_sub_ps(_mm256_loadu_ps(sh + j), mv)), inv);
                _mm256_store_ps(p + h * kChunk + j, round_fp16(e));
            }
            for (; j < nc; ++j) p[h * kChunk + j] = round_fp16(std::exp(sh[j] - m_inv[h]) * m_inv[group + h]);
        }
        for (int jj = 0; jj < nc; ++jj) {
            const int64_t slot = int64_t(table[block]) * job.block_size + offset;
            if (++offset == job.block_size) offset = 0, ++block;
            load_head<T>(job.v + size_t(slot) * job.kv_row_bytes, g, hd, row_f32);
            for (int h = 0; h < group; ++h) {
                const __m256 w = _mm256_set1_ps(p[h * kChunk + jj]);
                float* ah = acc + size_t(h) * hd;
                for (int i = 0; i < hd; i += 8) {
                    _mm256_storeu_ps(ah + i, _mm256_fmadd_ps(w, _mm256_load_ps(row_f32 + i), _mm256_loadu_ps(ah + i)));
                }
            }
        }
    }
}

bool fits(const AttentionJob& job) {
    return job.head_dim % 8 == 0 && job.head_dim <= kMaxHeadDim && attention_group(job) <= kMaxGroup;
}

}  // namespace

void attention_scores_avx2(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end, float* sc,
                           float* m_l) {
    if (!fits(job)) attention_scores_ref(job, t, g, j_begin, j_end, sc, m_l);
    else if (job.kv_type == quant::DType::Q8_0) scores<quant::DType::Q8_0>(job, t, g, j_begin, j_end, sc, m_l);
    else scores<quant::DType::F16>(job, t, g, j_begin, j_end, sc, m_l);
}

void attention_values_avx2(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end,
                           const float* sc, const float* m_inv, float* acc) {
    if (!fits(job)) attention_values_ref(job, t, g, j_begin, j_end, sc, m_inv, acc);
    else if (job.kv_type == quant::DType::Q8_0) values<quant::DType::Q8_0>(job, t, g, j_begin, j_end, sc, m_inv, acc);
    else values<quant::DType::F16>(job, t, g, j_begin, j_end, sc, m_inv, acc);
}

}  // namespace hotrod::cpu::kernels
