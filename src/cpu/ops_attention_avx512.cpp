// Attention span kernel, AVX-512. Positions are taken in chunks of 32: each K row is converted to float once
// (F16C or Q8_0 dequantize) and dotted with the G query heads of its group; the chunk's scores then get one
// max, one rescale of the running sums and a vector exp; each V row is converted once and added to the G
// accumulators. Shapes outside what it handles (head_dim % 16, head_dim > 512, G > 16) go to the reference.
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
        for (int i = 0; i < hd; i += 16) {
            _mm512_store_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i))));
        }
    } else {  // Q8_0 blocks: fp16 scale d, 32 int8
        const uint8_t* b = row + size_t(head) * (hd / 32) * 34;
        for (int i = 0; i < hd; i += 32, b += 34) {
            uint16_t d_bits;
            std::memcpy(&d_bits, b, 2);
            const __m512 d = _mm512_set1_ps(_cvtsh_ss(d_bits));
            const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2));
            const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 18));
            _mm512_store_ps(dst + i, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(lo))));
            _mm512_store_ps(dst + i + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(hi))));
        }
    }
}

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
    alignas(64) float row_f32[kMaxHeadDim];
    alignas(64) float s[kMaxGroup * kChunk];
    int64_t slots[kChunk];

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
        const __mmask16 m0 = nc >= 16 ? __mmask16(0xffff) : simd::tail_mask16(nc);
        const __mmask16 m1 = nc > 16 ? simd::tail_mask16(nc - 16) : __mmask16(0);  // nc - 16 == 16 gives 0xffff
        for (int h = 0; h < group; ++h) {
            float* sh = s + h * kChunk;
            __m512 a = _mm512_loadu_ps(sh), b = _mm512_loadu_ps(sh + 16);
            if (job.softcap > 0.0f) {
                const __m512 cap = _mm512_set1_ps(job.softcap), inv = _mm512_set1_ps(1.0f / job.softcap);
                a = _mm512_mul_ps(cap, simd::tanh16(_mm512_mul_ps(a, inv)));
                b = _mm512_mul_ps(cap, simd::tanh16(_mm512_mul_ps(b, inv)));
            }
            const __m512 ninf = _mm512_set1_ps(neg_inf);
            a = _mm512_mask_mov_ps(ninf, m0, a);
            b = _mm512_mask_mov_ps(ninf, m1, b);
            const float m_new = std::max(m[h], _mm512_reduce_max_ps(_mm512_max_ps(a, b)));
            if (m_new > m[h]) {
                const float c = std::exp(m[h] - m_new);
                l[h] *= c;
                const __m512 cv = _mm512_set1_ps(c);
                float* ah = acc + size_t(h) * hd;
                for (int i = 0; i < hd; i += 16) _mm512_storeu_ps(ah + i, _mm512_mul_ps(cv, _mm512_loadu_ps(ah + i)));
                m[h] = m_new;
            }
            const __m512 mv = _mm512_set1_ps(m_new);
            const __m512 wa = _mm512_maskz_mov_ps(m0, simd::exp16(_mm512_sub_ps(a, mv)));
            const __m512 wb = _mm512_maskz_mov_ps(m1, simd::exp16(_mm512_sub_ps(b, mv)));
            _mm512_storeu_ps(sh, wa);
            _mm512_storeu_ps(sh + 16, wb);
            l[h] += _mm512_reduce_add_ps(_mm512_add_ps(wa, wb));
        }
        for (int jj = 0; jj < nc; ++jj) {
            load_head<T>(job.v + size_t(slots[jj]) * job.kv_row_bytes, g, hd, row_f32);
            for (int h = 0; h < group; ++h) {
                const __m512 w = _mm512_set1_ps(s[h * kChunk + jj]);
                float* ah = acc + size_t(h) * hd;
                for (int i = 0; i < hd; i += 16) {
                    _mm512_storeu_ps(ah + i, _mm512_fmadd_ps(w, _mm512_load_ps(row_f32 + i), _mm512_loadu_ps(ah + i)));
                }
            }
        }
    }
}

}  // namespace

void attention_span_avx512(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end, float* state) {
    const int group = job.n_heads / job.n_kv_heads;
    if (job.head_dim % 16 != 0 || job.head_dim > kMaxHeadDim || group > kMaxGroup) {
        attention_span_ref(job, t, g, j_begin, j_end, state);
    } else if (job.kv_type == quant::DType::Q8_0) {
        span<quant::DType::Q8_0>(job, t, g, j_begin, j_end, state);
    } else {
        span<quant::DType::F16>(job, t, g, j_begin, j_end, state);
    }
}

}  // namespace hotrod::cpu::kernels
