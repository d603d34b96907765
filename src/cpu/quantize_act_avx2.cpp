// F32 -> Q8_0 activations with AVX2, bit-identical to quant::quantize_row_q8_0_act_ref: the same amax,
// d = amax / 127, id = 127 / amax, and the vector unit's rounding (ties to even), as llama.cpp's x86 build.
#include <immintrin.h>

#include "cpu/quantize_act.h"
#include "quant/blocks.h"

namespace hotrod::cpu::kernels {

void quantize_row_q8_0_avx2(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<quant::BlockQ8_0*>(dst);
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    for (int64_t b = 0; b < n / quant::QK; ++b, x += quant::QK) {
        __m256 v[4];
        for (int i = 0; i < 4; ++i) v[i] = _mm256_loadu_ps(x + 8 * i);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign_bit, v[0]), _mm256_andnot_ps(sign_bit, v[1])),
                                 _mm256_max_ps(_mm256_andnot_ps(sign_bit, v[2]), _mm256_andnot_ps(sign_bit, v[3])));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[b].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        const __m256 idv = _mm256_set1_ps(id);
        __m256i q[4];
        for (int i = 0; i < 4; ++i) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], idv));
        // packs work within 128-bit lanes; the permute restores element order.
        const __m256i q01 = _mm256_packs_epi32(q[0], q[1]);
        const __m256i q23 = _mm256_packs_epi32(q[2], q[3]);
        const __m256i bytes = _mm256_packs_epi16(q01, q23);
        const __m256i ordered = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), ordered);
    }
}

}  // namespace hotrod::cpu::kernels
