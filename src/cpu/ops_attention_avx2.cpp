// Attention span kernel, AVX2 + FMA + F16C: the same chunked scheme as the AVX-512 version (one conversion of
// each K/V row for the G query heads of its group, one max / rescale / vector exp per chunk of 32 positions).
// Shapes outside what it handles (head_dim % 8, head_dim > 512, G > 16) go to the reference.
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

template <quant::DType T>
void span(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end, float* state) {
    const int hd = job.head_dim;
    const int group = job.n_heads / job.n_kv_heads;
    float* acc = state;
    float* m = state + size_t(group) * hd;
    float* l = m + group;
    const int32_t* table = job.block_tables[job.token_seq[t]];
    const float* q = job.q + size_t(t) * job.q_stride + size_t(g) * group * hd;
    const float neg_inf = -std::numeric_limits<float>::infinity();
    alignas(32) float row_f32[kMaxHeadDim];
    alignas(32) float s[kMaxGroup * kChunk];
    int64_t slots[kChunk];
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);

    for (int h = 0; h < group; ++h) m[h] = neg_inf, l[h] = 0.0f;
    std::fill(acc, acc + size_t(group) * hd, 0.0f);

    for (int32_t jc = j_begin; jc < j_end; jc += kChunk) {
        const int nc = std::min<int32_t>(kChunk, j_end - jc);
        // Physical rows of the chunk, walking the block table without a division per position.
        int32_t block = jc / job.block_size, offset = jc % job.block_size;
        for (int jj = 0; jj < nc; ++jj) {
            slots[jj] = int64_t(table[block]) * job.block_size + offset;
            if (++offset == job.block_size) offset = 0, ++block;
        }
        for (int jj = 0; jj < nc; ++jj) {
            load_head<T>(job.k + size_t(slots[jj]) * job.kv_row_bytes, g, hd, row_f32);
            for (int h = 0; h < group; ++h) s[h * kChunk + jj] = dot(q + size_t(h) * hd, row_f32, hd) * job.scale;
        }
        __m256 valid[4];  // all-ones lanes for positions < nc
        for (int k = 0; k < 4; ++k) {
            valid[k] = _mm256_castsi256_ps(
                _mm256_cmpgt_epi32(_mm256_set1_epi32(nc), _mm256_add_epi32(lane, _mm256_set1_epi32(8 * k))));
        }
        for (int h = 0; h < group; ++h) {
            float* sh = s + h * kChunk;
            __m256 x[4];
            __m256 mx = _mm256_set1_ps(neg_inf);
            for (int k = 0; k < 4; ++k) {
                x[k] = _mm256_loadu_ps(sh + 8 * k);
                if (job.softcap > 0.0f) {
                    x[k] = _mm256_mul_ps(_mm256_set1_ps(job.softcap),
                                         simd::tanh8(_mm256_mul_ps(x[k], _mm256_set1_ps(1.0f / job.softcap))));
                }
                x[k] = _mm256_blendv_ps(_mm256_set1_ps(neg_inf), x[k], valid[k]);
                mx = _mm256_max_ps(mx, x[k]);
            }
            const float m_new = std::max(m[h], simd::hmax8(mx));
            if (m_new > m[h]) {
                const float c = std::exp(m[h] - m_new);
                l[h] *= c;
                const __m256 cv = _mm256_set1_ps(c);
                float* ah = acc + size_t(h) * hd;
                for (int i = 0; i < hd; i += 8) _mm256_storeu_ps(ah + i, _mm256_mul_ps(cv, _mm256_loadu_ps(ah + i)));
                m[h] = m_new;
            }
            const __m256 mv = _mm256_set1_ps(m_new);
            __m256 sum = _mm256_setzero_ps();
            for (int k = 0; k < 4; ++k) {
                const __m256 w = _mm256_and_ps(valid[k], simd::exp8(_mm256_sub_ps(x[k], mv)));
                _mm256_storeu_ps(sh + 8 * k, w);
                sum = _mm256_add_ps(sum, w);
            }
            l[h] += simd::hsum8(sum);
        }
        for (int jj = 0; jj < nc; ++jj) {
            load_head<T>(job.v + size_t(slots[jj]) * job.kv_row_bytes, g, hd, row_f32);
            for (int h = 0; h < group; ++h) {
                const __m256 w = _mm256_set1_ps(s[h * kChunk + jj]);
                float* ah = acc + size_t(h) * hd;
                for (int i = 0; i < hd; i += 8) {
                    _mm256_storeu_ps(ah + i, _mm256_fmadd_ps(w, _mm256_load_ps(row_f32 + i), _mm256_loadu_ps(ah + i)));
                }
            }
        }
    }
}

}  // namespace

void attention_span_avx2(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end, float* state) {
    const int group = job.n_heads / job.n_kv_heads;
    if (job.head_dim % 8 != 0 || job.head_dim > kMaxHeadDim || group > kMaxGroup) {
        attention_span_ref(job, t, g, j_begin, j_end, state);
    } else if (job.kv_type == quant::DType::Q8_0) {
        span<quant::DType::Q8_0>(job, t, g, j_begin, j_end, state);
    } else {
        span<quant::DType::F16>(job, t, g, j_begin, j_end, state);
    }
}

}  // namespace hotrod::cpu::kernels
