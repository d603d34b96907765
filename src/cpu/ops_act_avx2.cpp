// SwiGLU / GeGLU, AVX2 + FMA, with the polynomial exp of ops_simd_math.h; the scalar reference does the tail.
#include <immintrin.h>

#include "cpu/ops_act.h"
#include "cpu/ops_simd_math.h"

namespace hotrod::cpu::kernels {

void swiglu_avx2(const float* gate, const float* up, float* out, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 e = simd::exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
        const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    if (i < n) swiglu_ref(gate + i, up + i, out + i, n - i);
}

// Same definition as geglu_ref (gate and GELU rounded to fp16 to match llama.cpp): F16C round trips do the
// roundings, blends give 0 for g <= -10 and g for g >= 10.
void geglu_avx2(const float* gate, const float* up, float* out, int64_t n) {
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    const __m256 k0 = _mm256_set1_ps(0.7978845608028654f), k1 = _mm256_set1_ps(0.044715f);
    const __m256 lo = _mm256_set1_ps(-10.0f), hi = _mm256_set1_ps(10.0f);
    constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 x = _mm256_cvtph_ps(_mm256_cvtps_ph(g, kRound));
        const __m256 y = _mm256_mul_ps(_mm256_mul_ps(k0, x), _mm256_fmadd_ps(_mm256_mul_ps(k1, x), x, one));
        const __m256 t = simd::tanh8(y);
        __m256 gelu = _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, t));
        gelu = _mm256_cvtph_ps(_mm256_cvtps_ph(gelu, kRound));
        gelu = _mm256_blendv_ps(gelu, g, _mm256_cmp_ps(g, hi, _CMP_GE_OQ));
        gelu = _mm256_andnot_ps(_mm256_cmp_ps(g, lo, _CMP_LE_OQ), gelu);
        _mm256_storeu_ps(out + i, _mm256_mul_ps(gelu, _mm256_loadu_ps(up + i)));
    }
    if (i < n) geglu_ref(gate + i, up + i, out + i, n - i);
}

}  // namespace hotrod::cpu::kernels
