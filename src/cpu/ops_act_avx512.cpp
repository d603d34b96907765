// SwiGLU / GeGLU, AVX-512, with the polynomial exp of ops_simd_math.h, F16C-style fp16 roundings for GeGLU and a
// masked tail.
#include <immintrin.h>

#include "cpu/ops_act.h"
#include "cpu/ops_simd_math.h"

namespace hotrod::cpu::kernels {

void swiglu_avx512(const float* gate, const float* up, float* out, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : simd::tail_mask16(n - i);
        const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        const __m512 e = simd::exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
        const __m512 silu = _mm512_div_ps(g, _mm512_add_ps(one, e));
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(m, up + i)));
    }
}

// Same definition as geglu_ref (gate and GELU rounded to fp16 to match llama.cpp), roundings by vcvtps2ph.
void geglu_avx512(const float* gate, const float* up, float* out, int64_t n) {
    const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
    const __m512 k0 = _mm512_set1_ps(0.7978845608028654f), k1 = _mm512_set1_ps(0.044715f);
    const __m512 lo = _mm512_set1_ps(-10.0f), hi = _mm512_set1_ps(10.0f);
    constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : simd::tail_mask16(n - i);
        const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        const __m512 x = _mm512_cvtph_ps(_mm512_cvtps_ph(g, kRound));
        const __m512 y = _mm512_mul_ps(_mm512_mul_ps(k0, x), _mm512_fmadd_ps(_mm512_mul_ps(k1, x), x, one));
        const __m512 t = simd::tanh16(y);
        __m512 gelu = _mm512_mul_ps(_mm512_mul_ps(half, x), _mm512_add_ps(one, t));
        gelu = _mm512_cvtph_ps(_mm512_cvtps_ph(gelu, kRound));
        gelu = _mm512_mask_mov_ps(gelu, _mm512_cmp_ps_mask(g, hi, _CMP_GE_OQ), g);
        gelu = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(g, lo, _CMP_NLE_UQ), gelu);  // zero where g <= -10
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(gelu, _mm512_maskz_loadu_ps(m, up + i)));
    }
}

}  // namespace hotrod::cpu::kernels
