// RMSNorm row kernel, AVX-512: two accumulators for the sum of squares, masked tail (no scalar loop).
#include <immintrin.h>

#include <cmath>

#include "cpu/ops_norm.h"
#include "cpu/ops_simd_math.h"

namespace hotrod::cpu::kernels {

void rms_norm_row_avx512(const float* x, const float* w, float eps, int64_t n, float* y) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
        acc0 = _mm512_fmadd_ps(a, a, acc0);
        acc1 = _mm512_fmadd_ps(b, b, acc1);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : simd::tail_mask16(n - i);
        const __m512 a = _mm512_maskz_loadu_ps(m, x + i);
        acc0 = _mm512_fmadd_ps(a, a, acc0);
    }
    const float sum_sq = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    const __m512 s = _mm512_set1_ps(1.0f / std::sqrt(sum_sq / float(n) + eps));
    for (i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : simd::tail_mask16(n - i);
        const __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), s), _mm512_maskz_loadu_ps(m, w + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

}  // namespace hotrod::cpu::kernels
