// F32 -> Q8_K activation quantizer, AVX2. Bit-identical to quant::quantize_row_q8_k_ref: the same signed extreme
// (first element of largest magnitude), the same float scale -127/extreme, the same product rounded to nearest
// even (cvtps uses the default MXCSR mode, as nearbyint does), the same clamp at 127 and group-of-16 sums.
#include <immintrin.h>

#include <cstring>

#include "cpu/dot_kquants_kernels.h"
#include "quant/blocks.h"

namespace hotrod::cpu {

void quantize_row_q8_k_avx2(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<quant::BlockQ8_K*>(dst);
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t b = 0; b < n / quant::QK_K; ++b, x += quant::QK_K) {
        __m256 vmax = _mm256_setzero_ps();
        for (int i = 0; i < quant::QK_K; i += 8) vmax = _mm256_max_ps(vmax, _mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        if (!(amax > 0.0f)) {
            std::memset(&y[b], 0, sizeof(quant::BlockQ8_K));
            continue;
        }
        // The first element whose magnitude is amax gives the sign, as in the reference's strict '>' scan.
        const __m256 vamax = _mm256_set1_ps(amax);
        float extreme = 0.0f;
        for (int i = 0; i < quant::QK_K; i += 8) {
            const int hits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask), vamax, _CMP_EQ_OQ));
            if (hits != 0) {
                extreme = x[i + __builtin_ctz(unsigned(hits))];
                break;
            }
        }
        const float iscale = -127.0f / extreme;
        const __m256 vscale = _mm256_set1_ps(iscale);
        const __m256i limit = _mm256_set1_epi32(127);
        const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        const __m256i ones8 = _mm256_set1_epi8(1);
        const __m256i ones16 = _mm256_set1_epi16(1);
        alignas(32) int32_t quad_sums[quant::QK_K / 4];
        for (int i = 0; i < quant::QK_K; i += 32) {
            __m256i v[4];
            for (int k = 0; k < 4; ++k) {
                v[k] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(vscale, _mm256_loadu_ps(x + i + 8 * k))), limit);
            }
            // packs work within 128-bit lanes; the final permute puts the 32 bytes back in element order.
            const __m256i w01 = _mm256_packs_epi32(v[0], v[1]);
            const __m256i w23 = _mm256_packs_epi32(v[2], v[3]);
            const __m256i q = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(w01, w23), order);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs + i), q);
            const __m256i quads = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16);
            _mm256_store_si256(reinterpret_cast<__m256i*>(quad_sums + i / 4), quads);
        }
        for (int g = 0; g < quant::QK_K / 16; ++g) {
            const int32_t* s = quad_sums + 4 * g;
            y[b].bsums[g] = int16_t(s[0] + s[1] + s[2] + s[3]);
        }
        y[b].d = 1.0f / iscale;
    }
}

}  // namespace hotrod::cpu
